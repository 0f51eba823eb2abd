//! The panel's listener: static assets, BLOB downloads, login, and the WebSocket each browser
//! keeps open.

use crate::assets;
use crate::auth::Auth;
use crate::bridge::{error_text, Access, Bridge};
use crate::http::{read_request, write_response, HttpError, Request, Response};
use bytes::BytesMut;
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use tracing::{debug, warn};

/// Largest request a browser may send on its WebSocket, and the point where it is cut off.
pub const MAX_REQUEST: usize = 256 * 1024;
const MAX_FRAME: usize = 4 * 1024 * 1024;

/// The panel: the bridge to the hub and who may use it.
pub struct Panel {
    /// The hub side.
    pub bridge: Arc<Bridge>,
    /// Users and sessions.
    pub auth: Arc<Auth>,
}

/// Accepts browsers until the hub stops.
pub async fn serve(panel: Arc<Panel>, listener: TcpListener, tls: Option<tokio_rustls::TlsAcceptor>, stop: tokio_util::sync::CancellationToken) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.cancelled() => return,
        };
        match accepted {
            Ok((stream, address)) => {
                let _ = stream.set_nodelay(true);
                let (panel, tls) = (panel.clone(), tls.clone());
                tokio::spawn(async move {
                    match tls {
                        None => connection(panel, stream, address).await,
                        // A handshake that stalls must not hold the task for ever.
                        Some(tls) => match tokio::time::timeout(std::time::Duration::from_secs(10), tls.accept(stream)).await {
                            Ok(Ok(stream)) => connection(panel, stream, address).await,
                            Ok(Err(error)) => debug!("web: {address}: TLS handshake failed: {error}"),
                            Err(_) => debug!("web: {address}: TLS handshake timed out"),
                        },
                    }
                });
            }
            Err(error) => {
                warn!("web: accept failed: {error}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

/// Serves one HTTP connection (plain or TLS) until it closes or becomes a WebSocket.
pub async fn connection<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(panel: Arc<Panel>, mut stream: S, address: SocketAddr) {
    let mut buf = BytesMut::with_capacity(4096);
    loop {
        let request = match read_request(&mut stream, &mut buf).await {
            Ok(Some(request)) => request,
            Ok(None) => return,
            Err(HttpError(status, reason)) => {
                let _ = write_response(&mut stream, &Response::error(status, reason).with("Connection", "close"), false).await;
                linger(&mut stream).await;
                return;
            }
        };
        if request.path == "/ws" && request.method == "GET" {
            return websocket(panel, stream, buf, request, address).await;
        }
        let head_only = request.method == "HEAD";
        let close = request.header("connection").is_some_and(|c| c.eq_ignore_ascii_case("close"));
        let response = if request.method == "POST" && request.path == "/login" && same_origin(&request) {
            // Argon2 takes tens of milliseconds of CPU: not on the tasks that relay.
            let panel = panel.clone();
            tokio::task::spawn_blocking(move || panel.auth.login(&request, address)).await.unwrap_or_else(|_| Response::error(500, "login failed"))
        } else {
            route(&panel, &request)
        };
        if write_response(&mut stream, &response, head_only).await.is_err() || close {
            return;
        }
    }
}

/// Closes after a refused request without losing the answer: the peer may still be sending what
/// was refused, and closing with its bytes unread resets the connection before it reads why.
async fn linger<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 8192];
    let drain = async {
        let mut total = 0usize;
        while total < LINGER_BYTES {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), drain).await;
}

/// Most bytes of a refused request read and dropped before closing.
const LINGER_BYTES: usize = 1 << 20;

/// Requests that change something must come from the panel's own page: same origin, and the
/// session's CSRF token in `X-CSRF-Token` when signed in.
fn same_origin(request: &Request) -> bool {
    let Some(host) = request.header("host") else { return false };
    match request.header("origin") {
        Some(origin) => origin.split_once("://").is_some_and(|(_, rest)| rest == host),
        None => request.header("sec-fetch-site").is_none_or(|site| site == "same-origin" || site == "none"),
    }
}

fn route(panel: &Panel, request: &Request) -> Response {
    let identity = panel.auth.identify(request);
    match (request.method.as_str(), request.path.as_str()) {
        ("GET" | "HEAD", path) if assets::get(path).is_some() => {
            let (content_type, body) = assets::get(path).expect("checked");
            Response::new(200, content_type, body).with("Cache-Control", "no-cache")
        }
        ("GET" | "HEAD", "/favicon.ico") => Response::new(204, "image/x-icon", ""),
        ("GET" | "HEAD", "/session") => match identity {
            Some(identity) => Response::new(
                200,
                "application/json",
                serde_json::json!({"user": identity.user, "role": role_word(identity.access), "csrf": identity.csrf, "login": panel.auth.required()})
                    .to_string(),
            ),
            None => Response::error(401, "not signed in"),
        },
        ("POST", "/login") => Response::error(403, "cross-site request refused"),
        ("POST", "/logout") => {
            if !same_origin(request) {
                return Response::error(403, "cross-site request refused");
            }
            panel.auth.logout(request)
        }
        ("GET" | "HEAD", path) if path.starts_with("/blob/") => {
            if identity.is_none() {
                return Response::error(401, "not signed in");
            }
            blob(panel, path)
        }
        (_, path) if assets::get(path).is_some() || path == "/session" || path.starts_with("/blob/") => Response::error(405, "method not allowed"),
        _ => Response::error(404, "not found"),
    }
}

/// `/blob/<slot>/<seq>`: the latest bytes of that member, whatever `seq` (latest frame wins).
fn blob(panel: &Panel, path: &str) -> Response {
    let slot = path.trim_start_matches("/blob/").split('/').next().and_then(|s| s.parse::<usize>().ok());
    let Some(blob) = slot.and_then(|slot| panel.bridge.blob(slot)) else { return Response::error(404, "no such BLOB") };
    let content_type = match blob.format.to_ascii_lowercase().as_str() {
        ".fits" | ".fit" | ".fts" => "application/fits",
        ".jpg" | ".jpeg" => "image/jpeg",
        ".png" => "image/png",
        _ => "application/octet-stream",
    };
    let name = format!("blob{}{}", blob.seq, blob.format.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '.').collect::<String>());
    Response::new(200, content_type, blob.bytes)
        .with("Cache-Control", "private, max-age=3600")
        .with("Content-Disposition", format!("inline; filename=\"{name}\""))
        .with("X-Blob-Seq", blob.seq.to_string())
}

fn role_word(access: Access) -> &'static str {
    match access {
        Access::Operator => "operator",
        Access::Viewer => "viewer",
    }
}

async fn websocket<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(panel: Arc<Panel>, mut stream: S, buf: BytesMut, request: Request, address: SocketAddr) {
    let refuse = |status, reason| Response::error(status, reason).with("Connection", "close");
    let key = request.header("sec-websocket-key").map(str::to_owned);
    let upgrade = request.header("upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
    let identity = panel.auth.identify(&request);
    let refused = match (&key, identity.as_ref()) {
        _ if !upgrade => Some(refuse(400, "expected a WebSocket upgrade")),
        (None, _) => Some(refuse(400, "missing Sec-WebSocket-Key")),
        // Browsers always send Origin on WebSockets: another site's page cannot use our cookie.
        _ if !same_origin(&request) || request.header("origin").is_none() => Some(refuse(403, "cross-site WebSocket refused")),
        (_, None) => Some(refuse(401, "not signed in")),
        _ => None,
    };
    if let Some(response) = refused {
        let _ = write_response(&mut stream, &response, false).await;
        return;
    }
    let (key, identity) = (key.expect("checked"), identity.expect("checked"));
    let accept = derive_accept_key(key.as_bytes());
    let head = format!("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n");
    if tokio::io::AsyncWriteExt::write_all(&mut stream, head.as_bytes()).await.is_err() {
        return;
    }
    let config = WebSocketConfig::default().max_message_size(Some(MAX_FRAME)).max_frame_size(Some(MAX_FRAME));
    let socket = WebSocketStream::from_partially_read(stream, buf.to_vec(), Role::Server, Some(config)).await;
    let (mut sink, mut incoming) = socket.split();
    let session = panel.bridge.join(identity.access);
    debug!("web: {} ({}) connected from {address}", identity.user, role_word(identity.access));
    let writer = tokio::spawn({
        let session = session.clone();
        async move {
            let mut batch = Vec::new();
            while session.next(&mut batch).await {
                for text in batch.drain(..) {
                    if sink.feed(Message::Text(text)).await.is_err() {
                        return;
                    }
                }
                if sink.flush().await.is_err() {
                    return;
                }
            }
            let _ = sink.close().await;
        }
    });
    // A user removed or signed out elsewhere loses the live view too, within a minute.
    let mut check = tokio::time::interval(std::time::Duration::from_secs(60));
    check.tick().await;
    loop {
        let message = tokio::select! {
            message = incoming.next() => message,
            _ = check.tick() => {
                if panel.auth.still_valid(&identity) {
                    continue;
                }
                session.push(error_text("signed out"));
                break;
            }
        };
        let Some(message) = message else { break };
        match message {
            Ok(Message::Text(text)) if text.len() > MAX_REQUEST => {
                session.push(error_text(&format!("request too large ({} bytes, at most {MAX_REQUEST})", text.len())));
            }
            Ok(Message::Text(text)) => {
                if let Err(refused) = panel.bridge.request(&session, &text) {
                    session.push(error_text(&refused.0));
                }
            }
            Ok(Message::Binary(_)) => {
                session.push(error_text("binary messages are not understood: send JSON text"));
            }
            Ok(Message::Close(_)) => break,
            Ok(_) => {}
            Err(error) => {
                debug!("web: {address}: {error}");
                break;
            }
        }
        if !panel.auth.still_valid(&identity) {
            session.push(error_text("signed out"));
            break;
        }
    }
    panel.bridge.leave(&session);
    let _ = writer.await;
}
