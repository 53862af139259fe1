//! The messages of Prometheus remote-write 1.0 (`prometheus.WriteRequest`), written from the
//! specification's field list: only what stampede sends. Encoded with prost, then compressed
//! with snappy's block format.

/// `prometheus.WriteRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    /// The series.
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

/// `prometheus.TimeSeries`: labels (sorted by name, `__name__` among them) and samples, or
/// native histograms.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    /// Sorted by name.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    /// Float samples, oldest first.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
    /// Native histogram samples, oldest first.
    #[prost(message, repeated, tag = "4")]
    pub histograms: Vec<Histogram>,
}

/// `prometheus.Label`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Label {
    /// `[a-zA-Z_][a-zA-Z0-9_]*`.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Any UTF-8.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `prometheus.Sample`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
    /// The value.
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// `prometheus.Histogram`, integer counts: a native (sparse, exponential) histogram.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Histogram {
    /// Observations (the `count_int` choice of `count`).
    #[prost(uint64, tag = "1")]
    pub count_int: u64,
    /// Their sum.
    #[prost(double, tag = "3")]
    pub sum: f64,
    /// Bucket resolution: boundaries are powers of `2^(2^-schema)`.
    #[prost(sint32, tag = "4")]
    pub schema: i32,
    /// Observations at or below this go in the zero bucket.
    #[prost(double, tag = "5")]
    pub zero_threshold: f64,
    /// The zero bucket's count (the `zero_count_int` choice).
    #[prost(uint64, tag = "6")]
    pub zero_count_int: u64,
    /// Runs of positive buckets.
    #[prost(message, repeated, tag = "11")]
    pub positive_spans: Vec<BucketSpan>,
    /// Each positive bucket's count as a delta to the previous bucket's (the first absolute).
    #[prost(sint64, repeated, tag = "12")]
    pub positive_deltas: Vec<i64>,
    /// Milliseconds since the epoch.
    #[prost(int64, tag = "15")]
    pub timestamp: i64,
}

/// `prometheus.BucketSpan`: `length` consecutive buckets, starting `offset` after the end of
/// the previous span (the first span's offset is its first bucket's index).
#[derive(Clone, PartialEq, prost::Message)]
pub struct BucketSpan {
    /// Gap to the previous span, or the first index.
    #[prost(sint32, tag = "1")]
    pub offset: i32,
    /// Buckets in the span.
    #[prost(uint32, tag = "2")]
    pub length: u32,
}

/// Spans and deltas of populated buckets `index → count`, in index order.
pub fn spans_and_deltas<'a>(
    buckets: impl IntoIterator<Item = (&'a i32, &'a u64)>,
) -> (Vec<BucketSpan>, Vec<i64>) {
    let mut spans: Vec<BucketSpan> = Vec::new();
    let mut deltas = Vec::new();
    let (mut prev_index, mut prev_count): (Option<i32>, i64) = (None, 0);
    for (&i, &c) in buckets {
        match prev_index {
            Some(p) if i == p + 1 => spans.last_mut().expect("a span is open").length += 1,
            Some(p) => spans.push(BucketSpan {
                offset: i - p - 1,
                length: 1,
            }),
            None => spans.push(BucketSpan {
                offset: i,
                length: 1,
            }),
        }
        let c = c as i64;
        deltas.push(c - prev_count);
        prev_count = c;
        prev_index = Some(i);
    }
    (spans, deltas)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn spans_cover_runs_and_deltas_chain_counts() {
        let buckets: std::collections::BTreeMap<i32, u64> =
            [(-2, 3), (-1, 5), (3, 1), (4, 1), (10, 7)]
                .into_iter()
                .collect();
        let (spans, deltas) = spans_and_deltas(&buckets);
        assert_eq!(
            spans,
            vec![
                BucketSpan {
                    offset: -2,
                    length: 2
                },
                BucketSpan {
                    offset: 3,
                    length: 2
                },
                BucketSpan {
                    offset: 5,
                    length: 1
                },
            ]
        );
        assert_eq!(deltas, vec![3, 2, -4, 0, 6]);
        // Reading them back gives the buckets.
        let mut back = Vec::new();
        let (mut index, mut count) = (0i32, 0i64);
        for (n, s) in spans.iter().enumerate() {
            index += s.offset + if n == 0 { 0 } else { 1 };
            for k in 0..s.length {
                if k > 0 {
                    index += 1;
                }
                count += deltas[back.len()];
                back.push((index, count as u64));
            }
        }
        assert_eq!(back, buckets.into_iter().collect::<Vec<_>>());
    }

    #[test]
    fn messages_round_trip_with_the_field_numbers_of_the_spec() {
        let req = WriteRequest {
            timeseries: vec![TimeSeries {
                labels: vec![Label {
                    name: "__name__".into(),
                    value: "k6_http_reqs_total".into(),
                }],
                samples: vec![Sample {
                    value: 3.0,
                    timestamp: 1_700_000_000_000,
                }],
                histograms: vec![],
            }],
        };
        let bytes = req.encode_to_vec();
        // Field 1 (timeseries), wire type 2: 0x0a; within it, field 1 (labels): 0x0a again.
        assert_eq!(&bytes[..1], &[0x0a]);
        assert_eq!(WriteRequest::decode(bytes.as_slice()).unwrap(), req);
    }
}
