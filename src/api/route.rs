//! Routing: a pure function from method and path to what the API does.

use crate::http::request::Method;

/// What a request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Route {
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
pub(crate) fn route(method: Method, path: &[u8]) -> Route {
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

    const METHODS: [Method; 4] = [Method::Get, Method::Post, Method::Put, Method::Other];

    #[test]
    fn routes_table() {
        // Each known path with the one method it takes; every other method gets a 405.
        let known: &[(&[u8], Method, Route)] = &[
            (b"/payments", Method::Post, Route::CreatePayment),
            (b"/payments-summary", Method::Get, Route::Summary),
            (b"/purge-payments", Method::Post, Route::Purge),
        ];
        for (path, expected, matched) in known {
            for method in METHODS {
                let route = route(method, path);
                let wanted = if method == *expected { *matched } else { Route::MethodNotAllowed };
                assert_eq!(route, wanted, "{method:?} {:?}", String::from_utf8_lossy(path));
            }
        }
        // Paths match exactly (no trailing slash, case, query or prefix match), for any method.
        let unknown: &[&[u8]] =
            &[b"/payments/", b"/", b"", b"/PAYMENTS", b"/payments-summary/x", b"payments"];
        for path in unknown {
            for method in METHODS {
                assert_eq!(route(method, path), Route::NotFound, "{method:?} {path:?}");
            }
        }
    }
}
