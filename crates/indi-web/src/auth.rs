//! Who is using the panel: signed-in sessions (an HttpOnly, SameSite=Strict cookie), the CSRF
//! token of each, and the login rate limit.

use crate::bridge::Access;
use crate::http::{Request, Response};
use crate::users::{random_hex, Users};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const COOKIE: &str = "indi_session";
/// A session lasts this long after sign-in.
const SESSION_LIFE: Duration = Duration::from_secs(12 * 3600);
/// Failed logins allowed per address in [`FAILURE_WINDOW`].
pub const MAX_FAILURES: u32 = 5;
const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// A browser the panel knows.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The user name (`local` when no login is required).
    pub user: String,
    /// What the user may do.
    pub access: Access,
    /// The token state-changing HTTP requests must carry in `X-CSRF-Token`.
    pub csrf: String,
    token: Option<String>,
}

struct Signed {
    user: String,
    csrf: String,
    since: Instant,
}

struct Failures {
    count: u32,
    since: Instant,
}

/// Users and sessions of one panel.
pub struct Auth {
    users: Option<Users>,
    secure: bool,
    sessions: Mutex<HashMap<String, Signed>>,
    failures: Mutex<HashMap<IpAddr, Failures>>,
}

impl Auth {
    /// No login: everyone on the (loopback) listener is an operator.
    pub fn open() -> Auth {
        Auth { users: None, secure: false, sessions: Mutex::default(), failures: Mutex::default() }
    }

    /// Login required, against `users`; `secure` marks cookies for HTTPS only.
    pub fn with_users(users: Users, secure: bool) -> Auth {
        Auth { users: Some(users), secure, sessions: Mutex::default(), failures: Mutex::default() }
    }

    /// Whether browsers must sign in.
    pub fn required(&self) -> bool {
        self.users.is_some()
    }

    /// The browser's identity, from its session cookie (or anyone, without login).
    pub fn identify(&self, request: &Request) -> Option<Identity> {
        let Some(users) = &self.users else {
            return Some(Identity { user: "local".into(), access: Access::Operator, csrf: String::new(), token: None });
        };
        let token = request.cookie(COOKIE)?;
        let (user, csrf) = {
            let mut sessions = self.sessions.lock().unwrap();
            sessions.retain(|_, s| s.since.elapsed() < SESSION_LIFE);
            let signed = sessions.get(token)?;
            (signed.user.clone(), signed.csrf.clone())
        };
        // The role is read again each time: a removed or changed user loses access at once.
        let access = users.role(&user)?;
        Some(Identity { user, access, csrf, token: Some(token.to_owned()) })
    }

    /// Whether a signed-in identity is still signed in.
    pub fn still_valid(&self, identity: &Identity) -> bool {
        let Some(users) = &self.users else { return true };
        let Some(token) = &identity.token else { return false };
        self.sessions.lock().unwrap().contains_key(token) && users.role(&identity.user) == Some(identity.access)
    }

    /// `POST /login` with `{"user":..., "password":...}` (blocking: Argon2 is slow on purpose).
    pub fn login(&self, request: &Request, address: SocketAddr) -> Response {
        let Some(users) = &self.users else { return Response::error(404, "this panel needs no login") };
        let ip = address.ip();
        if let Some(wait) = self.blocked(ip) {
            return Response::error(429, &format!("too many failed logins: try again in {} s", wait.as_secs().max(1)))
                .with("Retry-After", wait.as_secs().max(1).to_string());
        }
        let body: Option<Value> = serde_json::from_slice(&request.body).ok();
        let field = |key| body.as_ref().and_then(|b| b.get(key)).and_then(Value::as_str);
        let (Some(user), Some(password)) = (field("user"), field("password")) else {
            return Response::error(400, "expected JSON {\"user\": ..., \"password\": ...}");
        };
        let Some(access) = users.verify(user, password) else {
            self.failed(ip);
            return Response::error(401, "wrong user name or password");
        };
        self.failures.lock().unwrap().remove(&ip);
        let (token, csrf) = (random_hex(32), random_hex(16));
        self.sessions.lock().unwrap().insert(token.clone(), Signed { user: user.to_owned(), csrf: csrf.clone(), since: Instant::now() });
        let secure = if self.secure { "; Secure" } else { "" };
        let role = if access == Access::Operator { "operator" } else { "viewer" };
        Response::new(200, "application/json", json!({"user": user, "role": role, "csrf": csrf}).to_string())
            .with("Set-Cookie", format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}", SESSION_LIFE.as_secs()))
    }

    /// `POST /logout`, with the session's CSRF token.
    pub fn logout(&self, request: &Request) -> Response {
        let Some(identity) = self.identify(request) else { return Response::error(401, "not signed in") };
        let Some(token) = identity.token else { return Response::error(404, "this panel needs no login") };
        if request.header("x-csrf-token") != Some(identity.csrf.as_str()) {
            return Response::error(403, "missing or wrong CSRF token");
        }
        self.sessions.lock().unwrap().remove(&token);
        Response::new(200, "application/json", "{}").with("Set-Cookie", format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"))
    }

    fn blocked(&self, ip: IpAddr) -> Option<Duration> {
        let mut failures = self.failures.lock().unwrap();
        failures.retain(|_, f| f.since.elapsed() < FAILURE_WINDOW);
        let f = failures.get(&ip)?;
        (f.count >= MAX_FAILURES).then(|| FAILURE_WINDOW.saturating_sub(f.since.elapsed()))
    }

    fn failed(&self, ip: IpAddr) {
        let mut failures = self.failures.lock().unwrap();
        let entry = failures.entry(ip).or_insert(Failures { count: 0, since: Instant::now() });
        entry.count += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(body: &str, cookie: Option<&str>) -> Request {
        let mut headers = vec![("host".to_owned(), "h".to_owned())];
        if let Some(cookie) = cookie {
            headers.push(("cookie".into(), cookie.into()));
        }
        Request { method: "POST".into(), path: "/login".into(), headers, body: body.as_bytes().to_vec() }
    }

    #[test]
    fn logins_are_rate_limited_and_sessions_found_by_cookie_only() {
        let dir = std::env::temp_dir().join(format!("indi-web-auth-{}", random_hex(6)));
        let users = Users::open(&dir.join("u.db")).unwrap();
        users.add("eve", "viewer pass", Access::Viewer).unwrap();
        let auth = Auth::with_users(users, false);
        let address: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let ok = auth.login(&request(r#"{"user":"eve","password":"viewer pass"}"#, None), address);
        assert_eq!(ok.status, 200);
        let cookie = ok.headers.iter().find(|(n, _)| *n == "Set-Cookie").unwrap().1.split(';').next().unwrap().to_owned();
        let identity = auth.identify(&request("", Some(&cookie))).unwrap();
        assert_eq!((identity.user.as_str(), identity.access), ("eve", Access::Viewer));
        assert!(auth.identify(&request("", Some("indi_session=forged"))).is_none());
        assert!(auth.identify(&request("", None)).is_none());
        for _ in 0..MAX_FAILURES {
            assert_eq!(auth.login(&request(r#"{"user":"eve","password":"wrong"}"#, None), address).status, 401);
        }
        let limited = auth.login(&request(r#"{"user":"eve","password":"viewer pass"}"#, None), address);
        assert_eq!(limited.status, 429, "even the right password waits");
        assert_eq!(auth.login(&request("not json", None), "127.0.0.2:1".parse().unwrap()).status, 400);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
