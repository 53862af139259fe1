//! k6's response callback: which responses count as expected, which decides each request's
//! `http_req_failed` sample and `expected_response` tag.

use super::Exchange;

/// Which responses a VU's requests count as expected (k6's `http.setResponseCallback`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ResponseCallback {
    /// k6's default: the statuses 200 to 399.
    #[default]
    Default,
    /// The script's `http.expectedStatuses(…)`.
    Statuses(ExpectedStatuses),
    /// `null`: no request records `http_req_failed` or `expected_response`.
    None,
}

/// Statuses listed one by one and as ranges (both ends included).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpectedStatuses {
    /// Statuses expected one by one.
    pub statuses: Vec<i32>,
    /// `(min, max)` ranges of expected statuses.
    pub ranges: Vec<(i32, i32)>,
}

impl ExpectedStatuses {
    /// Whether `status` is expected.
    pub fn matches(&self, status: i32) -> bool {
        self.statuses.contains(&status)
            || self
                .ranges
                .iter()
                .any(|&(min, max)| min <= status && status <= max)
    }
}

impl ResponseCallback {
    /// Whether `ex` was expected; `None` when nothing is to be recorded. As in k6, a request
    /// that got no response has status 0, and the `401` that opens a digest exchange is
    /// expected whatever the callback says (but for none).
    pub fn expected(&self, ex: &Exchange) -> Option<bool> {
        let status = if ex.error.is_some() {
            0
        } else {
            i32::from(ex.status)
        };
        match self {
            Self::None => None,
            _ if ex.challenge => Some(true),
            Self::Default => Some((200..400).contains(&status)),
            Self::Statuses(s) => Some(s.matches(status)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{errors, RequestError};

    fn answered(status: u16) -> Exchange {
        let mut ex = Exchange::failed_before_sending(
            "GET",
            "http://t/".into(),
            RequestError::new(errors::GENERIC, "x"),
        );
        ex.error = None;
        ex.status = status;
        ex
    }

    #[test]
    fn statuses_and_ranges_decide_what_is_expected() {
        let cb = ResponseCallback::Statuses(ExpectedStatuses {
            statuses: vec![404, 0],
            ranges: vec![(200, 204)],
        });
        let got: Vec<Option<bool>> = [200, 204, 205, 404, 500]
            .into_iter()
            .map(|s| cb.expected(&answered(s)))
            .collect();
        assert_eq!(
            got,
            [Some(true), Some(true), Some(false), Some(true), Some(false)]
        );
        let failed = Exchange::failed_before_sending(
            "GET",
            "http://t/".into(),
            RequestError::new(errors::GENERIC, "refused"),
        );
        assert_eq!(cb.expected(&failed), Some(true), "status 0 is listed");
        assert_eq!(ResponseCallback::Default.expected(&failed), Some(false));
        assert_eq!(
            ResponseCallback::Default.expected(&answered(399)),
            Some(true)
        );
        assert_eq!(
            ResponseCallback::Default.expected(&answered(400)),
            Some(false)
        );
        assert_eq!(ResponseCallback::None.expected(&answered(500)), None);
    }
}
