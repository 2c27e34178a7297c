//! The route table. Every route is added through [`Routes`], which builds
//! the axum router and, beside it, the list of `(method, path)` pairs that
//! router answers — so the list the contract is checked against
//! (`route_table`, the OpenAPI test) comes from the very calls that build
//! the router, not from a copy kept by hand.
use std::sync::Arc;

use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{self, MethodRouter};
use axum::Router;

use crate::app::App;

/// One route: a method and an axum path template (`/api/v1/me/sessions/{sid}`,
/// which is also OpenAPI's syntax).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Route {
    /// The method.
    pub method: Method,
    /// The path template.
    pub path: &'static str,
}

/// A group of routes under construction.
pub struct Routes {
    router: Router<Arc<App>>,
    table: Vec<Route>,
}

impl Routes {
    /// No routes yet.
    pub fn new() -> Self {
        Self { router: Router::new(), table: Vec::new() }
    }

    /// `GET path`.
    pub fn get<H, T>(self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, Arc<App>>,
        T: 'static,
    {
        self.add(Method::GET, path, routing::get(handler))
    }

    /// `POST path`.
    pub fn post<H, T>(self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, Arc<App>>,
        T: 'static,
    {
        self.add(Method::POST, path, routing::post(handler))
    }

    /// `DELETE path`.
    pub fn delete<H, T>(self, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, Arc<App>>,
        T: 'static,
    {
        self.add(Method::DELETE, path, routing::delete(handler))
    }

    /// One method at a time, so the table names exactly what is routed
    /// (axum merges the methods of one path into one method router).
    fn add(mut self, method: Method, path: &'static str, route: MethodRouter<Arc<App>>) -> Self {
        self.table.push(Route { method, path });
        self.router = self.router.route(path, route);
        self
    }

    /// The group with its router changed (layers); the routes stay the same.
    pub fn map(mut self, f: impl FnOnce(Router<Arc<App>>) -> Router<Arc<App>>) -> Self {
        self.router = f(self.router);
        self
    }

    /// The router.
    pub fn into_router(self) -> Router<Arc<App>> {
        self.router
    }

    /// The routes.
    pub fn into_table(self) -> Vec<Route> {
        self.table
    }
}

impl Default for Routes {
    fn default() -> Self {
        Self::new()
    }
}
