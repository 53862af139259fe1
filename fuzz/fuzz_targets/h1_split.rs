#![no_main]
//! Feeds one HTTP/1.x response to stampede's decoder whole and split at points the fuzzer
//! picks, and requires the same result: the same head, body, trailers, keep-alive decision,
//! bytes left over, or the same error.

#[path = "../common/h1.rs"]
mod h1;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    // The first bytes pick the splits (up to 8 cut points), the rest is the response.
    let cuts_len = usize::from(flags >> 5).min(rest.len());
    let (cuts, raw) = rest.split_at(cuts_len);
    let head_request = flags & 1 == 1;
    let limits = h1::limits(flags & 2 == 2);
    let mut points: Vec<usize> = cuts
        .iter()
        .map(|c| usize::from(*c) * raw.len() / 256)
        .collect();
    points.sort_unstable();
    let whole = h1::decode(&[raw], head_request, limits);
    let mut pieces = Vec::new();
    let mut at = 0;
    for p in points {
        pieces.push(&raw[at..p]);
        at = p;
    }
    pieces.push(&raw[at..]);
    let split = h1::decode(&pieces, head_request, limits);
    assert_eq!(whole, split, "split at {pieces:?}");
    let byte_by_byte: Vec<&[u8]> = raw.chunks(1).collect();
    assert_eq!(whole, h1::decode(&byte_by_byte, head_request, limits));
});
