//! The built-in chat page (React + Vite source in `web/`, build output in `web/dist/`,
//! committed and embedded here so the server stays one file).
//!
//! `GET /` serves the page when the client asks for HTML (`Accept` names `text/html`,
//! as browsers do); API clients (no `Accept`, `*/*`, `application/json`) keep getting the
//! JSON service description. The page's script and style are at `/assets/app.js` and
//! `/assets/app.css` (fixed names, set in `web/vite.config.js`).

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

const INDEX_HTML: &str = include_str!("../web/dist/index.html");
const APP_JS: &str = include_str!("../web/dist/assets/app.js");
const APP_CSS: &str = include_str!("../web/dist/assets/app.css");

/// Routes of the page's assets (`/assets/app.js`, `/assets/app.css`).
pub fn router() -> Router {
    Router::new()
        .route("/assets/app.js", get(|| async { asset(APP_JS, "text/javascript; charset=utf-8") }))
        .route("/assets/app.css", get(|| async { asset(APP_CSS, "text/css; charset=utf-8") }))
}

/// Whether the request's `Accept` header asks for HTML (a browser navigating to `/`).
/// A header naming only `*/*` or JSON does not.
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).any(|accept| {
        accept.split(',').any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default();
            let refused = parts.any(|p| p.replace(' ', "") == "q=0");
            media.eq_ignore_ascii_case("text/html") && !refused
        })
    })
}

/// The page (`index.html`).
pub fn page() -> Response {
    asset(INDEX_HTML, "text/html; charset=utf-8")
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (header::VARY, HeaderValue::from_static("Accept")),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_static(v));
        h
    }

    #[test]
    fn browsers_get_html_api_clients_json() {
        assert!(wants_html(&accept("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")));
        assert!(!wants_html(&accept("*/*")));
        assert!(!wants_html(&accept("application/json")));
        assert!(!wants_html(&accept("text/html;q=0, application/json")));
        assert!(!wants_html(&HeaderMap::new()));
    }

    #[test]
    fn the_page_links_its_embedded_assets() {
        assert!(INDEX_HTML.contains("/assets/app.js"), "{INDEX_HTML}");
        assert!(INDEX_HTML.contains("/assets/app.css"), "{INDEX_HTML}");
        assert!(!APP_JS.is_empty() && !APP_CSS.is_empty());
    }
}
