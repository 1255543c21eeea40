//! Request metrics: every response is timed by method, matched route and status.

use crate::metrics::{HttpLabels, Metrics};
use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use std::sync::Arc;
use std::time::Instant;

/// The `route` label of requests no route matched, so unknown paths cannot grow the series.
pub const UNMATCHED: &str = "unmatched";

/// Adds request metrics to every route of `router`, including those merged into it before
/// this call; apply it to the finished router.
pub fn observed(router: Router, metrics: Arc<Metrics>) -> Router {
    router.layer(middleware::from_fn_with_state(metrics, record))
}

/// Times one request and records it under its route pattern, not its raw path.
async fn record(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method()).to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, |p| p.as_str())
        .to_string();
    let response = next.run(request).await;
    let labels = HttpLabels {
        method,
        route,
        status: response.status().as_u16().to_string(),
    };
    metrics.observe_http(&labels, started.elapsed());
    response
}

/// The `method` label: the standard methods by name, anything else as `other`, so made-up
/// methods cannot grow the series either.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;

    async fn serve(router: Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn requests_are_recorded_by_route_pattern_method_and_status() {
        let metrics = Arc::new(Metrics::new());
        let users = Router::new().route("/users/{id}", get(|| async { "user" }));
        let app = observed(
            Router::new().route("/healthz", get(|| async { "ok" })).merge(users),
            Arc::clone(&metrics),
        );
        let base = serve(app).await;
        for path in ["/healthz", "/users/1", "/users/2", "/nowhere"] {
            reqwest::get(format!("{base}{path}")).await.unwrap();
        }
        let made_up = Method::from_bytes(b"BREW").unwrap();
        reqwest::Client::new()
            .request(made_up, format!("{base}/healthz"))
            .send()
            .await
            .unwrap();
        let text = metrics.encode();
        for expected in [
            "alarm_digest_http_request_seconds_count{method=\"GET\",route=\"/healthz\",status=\"200\"} 1\n",
            "alarm_digest_http_request_seconds_count{method=\"GET\",route=\"/users/{id}\",status=\"200\"} 2\n",
            "alarm_digest_http_request_seconds_count{method=\"GET\",route=\"unmatched\",status=\"404\"} 1\n",
            "alarm_digest_http_request_seconds_count{method=\"other\",route=\"/healthz\",status=\"405\"} 1\n",
        ] {
            assert!(text.contains(expected), "missing {expected} in\n{text}");
        }
    }
}
