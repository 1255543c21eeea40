//! Request observation: every response is timed by method, matched route and status, and
//! traced, with server errors logged at ERROR except the readiness probe's "not ready".

use crate::observer::WebObserver;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use std::sync::Arc;
use std::time::Instant;
use tower_http::classify::{
    ClassifiedResponse, ClassifyResponse, MakeClassifier, NeverClassifyEos, ServerErrorsFailureClass,
};
use tower_http::trace::TraceLayer;

/// The `route` label of requests no route matched, so unknown paths cannot grow the series.
pub const UNMATCHED: &str = "unmatched";

/// Adds request metrics to every route of `router`, including those merged into it before
/// this call; apply it to the finished router.
pub fn observed(router: Router, observer: Arc<dyn WebObserver>) -> Router {
    router.layer(middleware::from_fn_with_state(observer, record))
}

/// Times one request and records it under its route pattern, not its raw path.
async fn record(State(observer): State<Arc<dyn WebObserver>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, |p| p.as_str())
        .to_string();
    let response = next.run(request).await;
    observer.request_answered(method, &route, response.status().as_u16(), started.elapsed());
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

/// The path of the readiness probe: its 503 means "not ready", an answer, not a failure.
pub const READINESS_PATH: &str = "/readyz";

/// The HTTP server's trace layer: requests and responses at DEBUG, failures at ERROR.
/// Like `TraceLayer::new_for_http`, but a 503 from the readiness probe is not a failure:
/// while a dependency is down the orchestrator probes every few seconds, and an ERROR
/// line per probe would bury the real server errors.
pub fn trace_layer() -> TraceLayer<ReadinessAware> {
    TraceLayer::new(ReadinessAware)
}

/// Whether a response is a server failure, logged at ERROR: any 5xx, except the 503 by
/// which the readiness probe (`readiness_probe`) says the replica is not ready.
pub fn is_server_failure(readiness_probe: bool, status: StatusCode) -> bool {
    status.is_server_error() && !(readiness_probe && status == StatusCode::SERVICE_UNAVAILABLE)
}

/// Makes a [`ResponseClass`] per request, knowing whether it is the readiness probe.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadinessAware;

impl MakeClassifier for ReadinessAware {
    type Classifier = ResponseClass;
    type FailureClass = ServerErrorsFailureClass;
    type ClassifyEos = NeverClassifyEos<ServerErrorsFailureClass>;

    fn make_classifier<B>(&self, request: &axum::http::Request<B>) -> ResponseClass {
        ResponseClass {
            readiness_probe: request.uri().path() == READINESS_PATH,
        }
    }
}

/// Classifies one response by [`is_server_failure`].
#[derive(Debug, Clone, Copy)]
pub struct ResponseClass {
    readiness_probe: bool,
}

impl ClassifyResponse for ResponseClass {
    type FailureClass = ServerErrorsFailureClass;
    type ClassifyEos = NeverClassifyEos<ServerErrorsFailureClass>;

    fn classify_response<B>(
        self,
        response: &axum::http::Response<B>,
    ) -> ClassifiedResponse<Self::FailureClass, Self::ClassifyEos> {
        let status = response.status();
        if is_server_failure(self.readiness_probe, status) {
            ClassifiedResponse::Ready(Err(ServerErrorsFailureClass::StatusCode(status)))
        } else {
            ClassifiedResponse::Ready(Ok(()))
        }
    }

    fn classify_error<E: std::fmt::Display + 'static>(self, error: &E) -> Self::FailureClass {
        ServerErrorsFailureClass::Error(error.to_string())
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

    /// Every request it was told of, as (method, route, status).
    #[derive(Default)]
    struct Recorded(std::sync::Mutex<Vec<(String, String, u16)>>);

    impl WebObserver for Recorded {
        fn request_answered(&self, method: &str, route: &str, status: u16, _: std::time::Duration) {
            self.0.lock().unwrap().push((method.into(), route.into(), status));
        }
        fn exposition(&self) -> String {
            String::new()
        }
    }

    #[tokio::test]
    async fn requests_are_recorded_by_route_pattern_method_and_status() {
        let recorded = Arc::new(Recorded::default());
        let users = Router::new().route("/users/{id}", get(|| async { "user" }));
        let app = observed(
            Router::new().route("/healthz", get(|| async { "ok" })).merge(users),
            recorded.clone(),
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
        let seen = recorded.0.lock().unwrap().clone();
        let expected: Vec<(String, String, u16)> = [
            ("GET", "/healthz", 200),
            ("GET", "/users/{id}", 200),
            ("GET", "/users/{id}", 200),
            ("GET", "unmatched", 404),
            ("other", "/healthz", 405),
        ]
        .iter()
        .map(|(m, r, s)| (m.to_string(), r.to_string(), *s))
        .collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn only_the_readiness_probe_may_answer_503_without_a_server_failure() {
        let unavailable = StatusCode::SERVICE_UNAVAILABLE;
        assert!(!is_server_failure(true, unavailable), "the probe saying not ready");
        assert!(is_server_failure(false, unavailable), "any other route's 503");
        assert!(
            is_server_failure(true, StatusCode::INTERNAL_SERVER_ERROR),
            "the probe itself failing"
        );
        assert!(is_server_failure(false, StatusCode::INTERNAL_SERVER_ERROR));
        for fine in [StatusCode::OK, StatusCode::NOT_FOUND, StatusCode::TOO_MANY_REQUESTS] {
            assert!(
                !is_server_failure(true, fine) && !is_server_failure(false, fine),
                "{fine}"
            );
        }
    }

    /// One captured event: its level and its `status` field, if any.
    type Event = (tracing::Level, Option<u64>);

    /// Every event recorded while a future runs.
    #[derive(Clone, Default)]
    struct Captured(Arc<std::sync::Mutex<Vec<Event>>>);

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Captured {
        fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
            struct Status(Option<u64>);
            impl tracing::field::Visit for Status {
                fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
                    if field.name() == "status" {
                        self.0 = Some(value);
                    }
                }
                fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
                    self.record_u64(field, value as u64);
                }
                fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
            }
            let mut status = Status(None);
            event.record(&mut status);
            self.0.lock().unwrap().push((*event.metadata().level(), status.0));
        }
    }

    impl Captured {
        /// The events of `level`, by their `status` field.
        fn at(&self, level: tracing::Level) -> Vec<Option<u64>> {
            let events = self.0.lock().unwrap();
            events.iter().filter(|(l, _)| *l == level).map(|(_, s)| *s).collect()
        }
    }

    /// Sends GET `path` through `router` with every tracing event captured.
    async fn traced_get(router: Router, path: &str) -> (StatusCode, Captured) {
        use tower::ServiceExt as _;
        use tracing::instrument::WithSubscriber as _;
        use tracing_subscriber::layer::SubscriberExt as _;
        let captured = Captured::default();
        let subscriber = tracing_subscriber::registry().with(captured.clone());
        let request = Request::builder().uri(path).body(axum::body::Body::empty()).unwrap();
        let response = router.oneshot(request).with_subscriber(subscriber).await.unwrap();
        (response.status(), captured)
    }

    #[tokio::test]
    async fn a_not_ready_probe_is_traced_at_debug_and_a_server_error_at_error() {
        let app = Router::new()
            .route(READINESS_PATH, get(|| async { StatusCode::SERVICE_UNAVAILABLE }))
            .route("/v1/alarms", get(|| async { StatusCode::SERVICE_UNAVAILABLE }))
            .route("/boom", get(|| async { StatusCode::INTERNAL_SERVER_ERROR }))
            .route("/healthz", get(|| async { "ok" }))
            .layer(trace_layer());

        let (status, probe) = traced_get(app.clone(), READINESS_PATH).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            probe.at(tracing::Level::ERROR),
            [],
            "a not-ready probe is no server error"
        );
        assert_eq!(probe.at(tracing::Level::WARN), []);
        assert!(
            probe.at(tracing::Level::DEBUG).contains(&Some(503)),
            "the 503 is still traced at DEBUG"
        );

        let (status, boom) = traced_get(app.clone(), "/boom").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(boom.at(tracing::Level::ERROR).len(), 1, "one ERROR per failed request");

        let (status, unavailable) = traced_get(app.clone(), "/v1/alarms").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            unavailable.at(tracing::Level::ERROR).len(),
            1,
            "a 503 elsewhere is a failure"
        );

        let (status, fine) = traced_get(app, "/healthz").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(fine.at(tracing::Level::ERROR), []);
    }
}
