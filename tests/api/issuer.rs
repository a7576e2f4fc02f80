//! A real HTTP server on 127.0.0.1 standing in for issuers: it serves a folder of fixture
//! files by path, with answers overridden per path (404, 410, redirects, slow or oversized
//! answers, ...) as in the fixtures' `routes.json` or changed while it runs, and records
//! the requests it gets. Files are served with an `ETag`, and a matching `If-None-Match`
//! gets `304 Not Modified`, as on real issuers' servers.

use std::collections::HashMap;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BodySize, MessageBody};
use actix_web::web::Bytes;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures");

/// A special answer for one path.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Route {
    pub status: u16,
    pub file: Option<String>,
    pub body: Option<String>,
    pub content_type: Option<String>,
    /// A `Location` header (redirects); relative paths are resolved by the client.
    #[serde(default)]
    pub location: Option<String>,
    /// How long to wait before answering.
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// A body of this many spaces instead of `file` / `body`.
    #[serde(default)]
    pub filler_bytes: Option<usize>,
    /// Send the body in chunks without a `Content-Length`.
    #[serde(default)]
    pub chunked: bool,
    /// Answer this route only when the request's `Accept` header contains this text;
    /// otherwise answer a 200 HTML page (servers that pick the format from `Accept`).
    #[serde(default)]
    pub only_for_accept: Option<String>,
}

impl Route {
    /// An answer with `status` and nothing else yet.
    pub fn status(status: u16) -> Route {
        Route {
            status,
            ..Route::default()
        }
    }

    /// A redirect (`status` 301/302/307/308) to `location`.
    pub fn redirect(status: u16, location: &str) -> Route {
        Route {
            location: Some(location.into()),
            ..Route::status(status)
        }
    }

    /// The fixture file at `file` (relative to the served root).
    pub fn file(mut self, file: &str) -> Route {
        self.file = Some(file.into());
        self
    }

    pub fn body(mut self, body: &str) -> Route {
        self.body = Some(body.into());
        self
    }

    pub fn content_type(mut self, content_type: &str) -> Route {
        self.content_type = Some(content_type.into());
        self
    }
}

struct Served {
    root: PathBuf,
    routes: std::sync::RwLock<HashMap<String, Route>>,
    requests: AtomicUsize,
    /// Each request's path and the status it was answered with, in order.
    log: std::sync::Mutex<Vec<(String, u16)>>,
    /// Requests being answered right now, and the most there ever were at once.
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    /// The `Content-Type` of files whose name has no extension.
    extensionless: &'static str,
}

pub struct IssuerServer {
    pub base: String,
    served: Arc<Served>,
    handle: actix_web::dev::ServerHandle,
}

impl IssuerServer {
    /// Serves `root` (and the `routes` overrides, keyed by request path) on a free port.
    pub fn start(root: PathBuf, routes: HashMap<String, Route>) -> IssuerServer {
        IssuerServer::start_serving(root, routes, "text/plain")
    }

    /// Like [`IssuerServer::start`], answering `application/json` for files whose name has
    /// no extension (issuer URLs such as `/a/1` or `/profile`).
    pub fn start_json(root: PathBuf, routes: HashMap<String, Route>) -> IssuerServer {
        IssuerServer::start_serving(root, routes, "application/json")
    }

    fn start_serving(
        root: PathBuf,
        routes: HashMap<String, Route>,
        extensionless: &'static str,
    ) -> IssuerServer {
        let served = Arc::new(Served {
            root,
            routes: std::sync::RwLock::new(routes),
            requests: AtomicUsize::new(0),
            log: Default::default(),
            in_flight: AtomicUsize::new(0),
            most_in_flight: AtomicUsize::new(0),
            extensionless,
        });
        let data = web::Data::from(served.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(serve))
        })
        .workers(2)
        .bind("127.0.0.1:0")
        .expect("the issuer server binds");
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        IssuerServer {
            base: format!("http://127.0.0.1:{port}"),
            served,
            handle,
        }
    }

    /// Serves the `ob-scenarios` fixtures with their `routes.json`.
    pub fn scenarios() -> IssuerServer {
        let root = PathBuf::from(FIXTURES).join("ob-scenarios");
        let routes = std::fs::read_to_string(root.join("routes.json")).expect("routes.json");
        IssuerServer::start(root, serde_json::from_str(&routes).expect("routes parse"))
    }

    pub fn requests(&self) -> usize {
        self.served.requests.load(Ordering::SeqCst)
    }

    /// Answers `path` with `route` from now on.
    pub fn set_route(&self, path: &str, route: Route) {
        let mut routes = self.served.routes.write().expect("routes lock");
        routes.insert(path.to_string(), route);
    }

    /// Serves `path` from the folder again.
    pub fn clear_route(&self, path: &str) {
        let mut routes = self.served.routes.write().expect("routes lock");
        routes.remove(path);
    }

    /// How many requests for `path` were answered with `status`.
    pub fn answered(&self, path: &str, status: u16) -> usize {
        let log = self.served.log.lock().expect("log lock");
        log.iter()
            .filter(|(p, s)| p == path && *s == status)
            .count()
    }

    /// The most requests this server was answering at one time.
    pub fn most_in_flight(&self) -> usize {
        self.served.most_in_flight.load(Ordering::SeqCst)
    }

    /// How many requests for `path` came in.
    pub fn hits(&self, path: &str) -> usize {
        let log = self.served.log.lock().expect("log lock");
        log.iter().filter(|(p, _)| p == path).count()
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

async fn serve(request: HttpRequest, served: web::Data<Served>) -> HttpResponse {
    served.requests.fetch_add(1, Ordering::SeqCst);
    let path = percent_decode(request.path());
    let now = served.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    served.most_in_flight.fetch_max(now, Ordering::SeqCst);
    let response = answer(&request, &served, &path).await;
    served.in_flight.fetch_sub(1, Ordering::SeqCst);
    let mut log = served.log.lock().expect("log lock");
    log.push((path, response.status().as_u16()));
    response
}

async fn answer(request: &HttpRequest, served: &Served, path: &str) -> HttpResponse {
    let route = served
        .routes
        .read()
        .expect("routes lock")
        .get(path)
        .cloned();
    if let Some(route) = route {
        return answer_route(request, served, path, &route).await;
    }
    let relative = path.trim_start_matches('/');
    if relative.split('/').any(|part| part == "..") {
        return HttpResponse::NotFound().finish();
    }
    match std::fs::read(served.root.join(relative)) {
        Ok(bytes) => {
            use sha2::Digest;
            let etag = format!("\"{}\"", hex::encode(&sha2::Sha256::digest(&bytes)[..8]));
            let asked = request
                .headers()
                .get("if-none-match")
                .and_then(|v| v.to_str().ok());
            if asked == Some(etag.as_str()) {
                return HttpResponse::NotModified()
                    .insert_header(("ETag", etag))
                    .finish();
            }
            HttpResponse::Ok()
                .content_type(content_type(path, served.extensionless))
                .insert_header(("ETag", etag))
                .body(bytes)
        }
        Err(_) => HttpResponse::NotFound()
            .content_type("text/html")
            .body("<h1>Not Found</h1>"),
    }
}

async fn answer_route(
    request: &HttpRequest,
    served: &Served,
    path: &str,
    route: &Route,
) -> HttpResponse {
    if let Some(delay) = route.delay_ms {
        actix_web::rt::time::sleep(Duration::from_millis(delay)).await;
    }
    if let Some(wanted) = &route.only_for_accept {
        let accept = request
            .headers()
            .get("accept")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !accept.contains(wanted.as_str()) {
            return HttpResponse::Ok()
                .content_type("text/html")
                .body("<html><body>A page for people</body></html>");
        }
    }
    let body = match (&route.file, &route.body, route.filler_bytes) {
        (_, _, Some(size)) => vec![b' '; size],
        (Some(file), _, None) => std::fs::read(served.root.join(file)).unwrap_or_default(),
        (None, Some(body), None) => body.clone().into_bytes(),
        (None, None, None) => Vec::new(),
    };
    let status = actix_web::http::StatusCode::from_u16(route.status).expect("status");
    let content_type = route
        .content_type
        .clone()
        .unwrap_or_else(|| content_type(path, served.extensionless).into());
    let mut response = HttpResponse::build(status);
    response.content_type(content_type);
    if let Some(location) = &route.location {
        response.insert_header(("Location", location.as_str()));
    }
    if route.chunked {
        return response.body(Chunked(body));
    }
    response.body(body)
}

/// A body sent in 16 KiB chunks with no `Content-Length`.
struct Chunked(Vec<u8>);

impl MessageBody for Chunked {
    type Error = std::convert::Infallible;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.get_mut();
        if this.0.is_empty() {
            return Poll::Ready(None);
        }
        let rest = this.0.split_off(this.0.len().min(16 * 1024));
        let chunk = std::mem::replace(&mut this.0, rest);
        Poll::Ready(Some(Ok(Bytes::from(chunk))))
    }
}

/// Decodes `%XX` escapes so fixture files can have non-ASCII names.
fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                i += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

fn content_type(path: &str, extensionless: &'static str) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or_default();
    if !name.contains('.') {
        return extensionless;
    }
    match name.rsplit('.').next() {
        Some("json") => "application/json",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("html") => "text/html",
        _ => "text/plain",
    }
}
