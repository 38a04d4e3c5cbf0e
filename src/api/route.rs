//! Routing: a pure function from method and path to what the API does.

use crate::http::request::Method;

/// What a request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// `POST /payments`
    CreatePayment,
    /// `GET /payments-summary`
    Summary,
    /// `POST /purge-payments`
    Purge,
    /// A known path with the wrong method: `405`.
    MethodNotAllowed,
    /// Anything else: `404`.
    NotFound,
}

/// Maps a request line to a [`Route`].
pub fn route(method: Method, path: &[u8]) -> Route {
    let (expected, matched) = match path {
        b"/payments" => (Method::Post, Route::CreatePayment),
        b"/payments-summary" => (Method::Get, Route::Summary),
        b"/purge-payments" => (Method::Post, Route::Purge),
        _ => return Route::NotFound,
    };
    if method == expected {
        matched
    } else {
        Route::MethodNotAllowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_table() {
        let cases: &[(Method, &[u8], Route)] = &[
            (Method::Post, b"/payments", Route::CreatePayment),
            (Method::Get, b"/payments", Route::MethodNotAllowed),
            (Method::Put, b"/payments", Route::MethodNotAllowed),
            (Method::Get, b"/payments-summary", Route::Summary),
            (Method::Post, b"/payments-summary", Route::MethodNotAllowed),
            (Method::Post, b"/purge-payments", Route::Purge),
            (Method::Get, b"/purge-payments", Route::MethodNotAllowed),
            (Method::Other, b"/payments", Route::MethodNotAllowed),
            (Method::Post, b"/payments/", Route::NotFound),
            (Method::Get, b"/", Route::NotFound),
            (Method::Get, b"", Route::NotFound),
            (Method::Post, b"/PAYMENTS", Route::NotFound),
        ];
        for (method, path, expected) in cases {
            assert_eq!(
                route(*method, path),
                *expected,
                "{method:?} {:?}",
                String::from_utf8_lossy(path)
            );
        }
    }
}
