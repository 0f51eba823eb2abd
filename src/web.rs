//! napi side of the web panel (`crates/indi-web`): starting it beside a server, and managing
//! its users.

use indi_hub::Server;
use indi_web::auth::Auth;
use indi_web::users::{generate_password, parse_role, Users};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::path::Path;
use std::sync::Arc;

/// Settings of the web panel.
#[napi(object)]
pub struct WebOptions {
    /// Interface to listen on (default `localhost`).
    pub host: Option<String>,
    /// TCP port (0 picks a free one).
    pub port: u32,
    /// The user database (SQLite file); needed when login is required.
    pub users: Option<String>,
    /// Require login even on loopback (it is always required elsewhere).
    pub login: Option<bool>,
    /// TLS certificate chain (PEM); with `key`, the panel is served over HTTPS only.
    pub cert: Option<String>,
    /// TLS private key (PEM).
    pub key: Option<String>,
}

/// A started panel.
#[napi(object)]
pub struct WebStarted {
    /// The port bound.
    pub port: u32,
    /// Whether browsers must sign in.
    pub login: bool,
    /// The password of the `admin` user created because the database had no user (shown once).
    pub admin_password: Option<String>,
}

fn error(e: impl std::fmt::Display) -> Error {
    Error::from_reason(e.to_string())
}

/// Starts the panel on the server's hub (inside the runtime).
pub async fn start(server: &Arc<Server>, options: WebOptions) -> Result<WebStarted> {
    let host = options.host.unwrap_or_else(|| "localhost".into());
    let port = u16::try_from(options.port).map_err(|_| error("web port must be 0..65535"))?;
    let login = options.login.unwrap_or(false) || !indi_web::is_loopback(&host);
    let tls = match (&options.cert, &options.key) {
        (Some(cert), Some(key)) => Some(indi_web::tls::acceptor(Path::new(cert), Path::new(key)).map_err(error)?),
        (None, None) => None,
        _ => return Err(error("TLS needs both a certificate and a key")),
    };
    let mut admin_password = None;
    let auth = if login {
        let path = options.users.ok_or_else(|| error("login is required: give the user database"))?;
        let users = Users::open(Path::new(&path)).map_err(error)?;
        if users.count().map_err(error)? == 0 {
            // No default password that stays valid: a random one, shown once.
            let password = generate_password();
            users.add("admin", &password, indi_web::bridge::Access::Operator).map_err(error)?;
            admin_password = Some(password);
        }
        Auth::with_users(users, tls.is_some())
    } else {
        Auth::open()
    };
    let (address, _) = indi_web::start(server.hub(), &host, port, auth, tls).await.map_err(|e| error(format!("cannot listen on {host}:{port}: {e}")))?;
    Ok(WebStarted { port: u32::from(address.port()), login, admin_password })
}

/// `indi-node web user add`: adds a user with role `viewer` or `operator`.
#[napi]
pub fn web_user_add(database: String, name: String, role: String, password: String) -> Result<()> {
    let access = parse_role(&role).map_err(error)?;
    Users::open(Path::new(&database)).and_then(|users| users.add(&name, &password, access)).map_err(error)
}

/// `indi-node web user remove`.
#[napi]
pub fn web_user_remove(database: String, name: String) -> Result<()> {
    Users::open(Path::new(&database)).and_then(|users| users.remove(&name)).map_err(error)
}

/// `indi-node web user passwd`.
#[napi]
pub fn web_user_passwd(database: String, name: String, password: String) -> Result<()> {
    Users::open(Path::new(&database)).and_then(|users| users.passwd(&name, &password)).map_err(error)
}

/// A new random password (for `user add` without one).
#[napi]
pub fn web_generate_password() -> String {
    generate_password()
}
