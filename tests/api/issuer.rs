//! A real HTTP server on 127.0.0.1 standing in for issuers: it serves a folder of fixture
//! files by path, with answers overridden per path (404, 410, ...) as in the fixtures'
//! `routes.json`, and counts the requests it gets.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures");

/// A special answer for one path.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Route {
    pub status: u16,
    pub file: Option<String>,
    pub body: Option<String>,
    pub content_type: Option<String>,
}

struct Served {
    root: PathBuf,
    routes: HashMap<String, Route>,
    requests: AtomicUsize,
}

pub struct IssuerServer {
    pub base: String,
    served: Arc<Served>,
    handle: actix_web::dev::ServerHandle,
}

impl IssuerServer {
    /// Serves `root` (and the `routes` overrides, keyed by request path) on a free port.
    pub fn start(root: PathBuf, routes: HashMap<String, Route>) -> IssuerServer {
        let served = Arc::new(Served {
            root,
            routes,
            requests: AtomicUsize::new(0),
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

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

async fn serve(request: HttpRequest, served: web::Data<Served>) -> HttpResponse {
    served.requests.fetch_add(1, Ordering::SeqCst);
    let path = request.path().to_string();
    if let Some(route) = served.routes.get(&path) {
        let body = match (&route.file, &route.body) {
            (Some(file), _) => std::fs::read(served.root.join(file)).unwrap_or_default(),
            (None, Some(body)) => body.clone().into_bytes(),
            (None, None) => Vec::new(),
        };
        let status = actix_web::http::StatusCode::from_u16(route.status).expect("status");
        let content_type = route
            .content_type
            .clone()
            .unwrap_or_else(|| content_type(&path).into());
        return HttpResponse::build(status)
            .content_type(content_type)
            .body(body);
    }
    let relative = path.trim_start_matches('/');
    if relative.split('/').any(|part| part == "..") {
        return HttpResponse::NotFound().finish();
    }
    match std::fs::read(served.root.join(relative)) {
        Ok(bytes) => HttpResponse::Ok()
            .content_type(content_type(&path))
            .body(bytes),
        Err(_) => HttpResponse::NotFound()
            .content_type("text/html")
            .body("<h1>Not Found</h1>"),
    }
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("json") => "application/json",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("html") => "text/html",
        _ => "text/plain",
    }
}
