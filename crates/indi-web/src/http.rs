//! Just enough HTTP/1.1 for the panel: one request at a time per connection, bodies only with
//! `Content-Length`, every size bounded.

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest request head.
const MAX_HEAD: usize = 16 * 1024;
/// Largest request body (logins and user forms are small).
pub const MAX_BODY: usize = 16 * 1024;

/// A parsed request.
#[derive(Debug)]
pub struct Request {
    /// `GET`, `POST`...
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// A cookie's value.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.headers.iter().filter(|(n, _)| n == "cookie").flat_map(|(_, v)| v.split(';')).find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key == name).then_some(value)
        })
    }
}

/// A request that cannot be served: the status and a short reason.
#[derive(Debug)]
pub struct HttpError(pub u16, pub &'static str);

/// Reads the next request; `Ok(None)` when the peer closed between requests.
pub async fn read_request<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut BytesMut) -> Result<Option<Request>, HttpError> {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 48];
        let mut parsed = httparse::Request::new(&mut headers);
        match parsed.parse(buf) {
            Ok(httparse::Status::Complete(head_len)) => {
                let method = parsed.method.unwrap_or_default().to_owned();
                let target = parsed.path.unwrap_or("/");
                let path = target.split('?').next().unwrap_or("/").to_owned();
                let headers: Vec<(String, String)> =
                    parsed.headers.iter().map(|h| (h.name.to_ascii_lowercase(), String::from_utf8_lossy(h.value).into_owned())).collect();
                let length = match headers.iter().find(|(n, _)| n == "content-length") {
                    Some((_, v)) => v.trim().parse::<usize>().map_err(|_| HttpError(400, "bad Content-Length"))?,
                    None if headers.iter().any(|(n, _)| n == "transfer-encoding") => return Err(HttpError(411, "a body needs Content-Length")),
                    None => 0,
                };
                if length > MAX_BODY {
                    return Err(HttpError(413, "request body too large"));
                }
                buf.advance(head_len);
                while buf.len() < length {
                    if stream.read_buf(buf).await.map_err(|_| HttpError(400, "connection lost"))? == 0 {
                        return Err(HttpError(400, "body cut short"));
                    }
                }
                let body = buf.split_to(length).to_vec();
                return Ok(Some(Request { method, path, headers, body }));
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => {}
            Ok(httparse::Status::Partial) => return Err(HttpError(431, "request head too large")),
            Err(_) => return Err(HttpError(400, "malformed request")),
        }
        match stream.read_buf(buf).await {
            Ok(0) if buf.is_empty() => return Ok(None),
            Ok(0) => return Err(HttpError(400, "request cut short")),
            Ok(_) => {}
            Err(_) => return Ok(None),
        }
    }
}

/// A response about to be written.
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Extra headers (`Content-Length` is added).
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: bytes::Bytes,
}

impl Response {
    /// A response with a body of the given type.
    pub fn new(status: u16, content_type: &str, body: impl Into<bytes::Bytes>) -> Response {
        Response { status, headers: vec![("Content-Type", content_type.to_owned())], body: body.into() }
    }

    /// A JSON error, `{"error": reason}`.
    pub fn error(status: u16, reason: &str) -> Response {
        Response::new(status, "application/json", serde_json::json!({ "error": reason }).to_string())
    }

    /// Adds a header.
    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Response {
        self.headers.push((name, value.into()));
        self
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        500 => "Internal Server Error",
        204 => "No Content",
        303 => "See Other",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        _ => "Error",
    }
}

/// Writes a response (head, then the body without copying it).
pub async fn write_response<S: AsyncWrite + Unpin>(stream: &mut S, response: &Response, head_only: bool) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {} {}\r\nContent-Length: {}\r\n", response.status, reason(response.status), response.body.len());
    head.push_str("X-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\nReferrer-Policy: no-referrer\r\n");
    head.push_str("Content-Security-Policy: default-src 'self'; img-src 'self' blob: data:; style-src 'self'; frame-ancestors 'none'\r\n");
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    if !head_only {
        stream.write_all(&response.body).await?;
    }
    stream.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read(text: &[u8]) -> Result<Option<Request>, HttpError> {
        let mut stream = text;
        read_request(&mut stream, &mut BytesMut::new()).await
    }

    #[tokio::test]
    async fn requests_are_read_and_oversize_ones_refused() {
        let request = read(b"POST /login?x=1 HTTP/1.1\r\nHost: h\r\nCookie: a=1; session=abc\r\nContent-Length: 3\r\n\r\nxyz").await.unwrap().unwrap();
        assert_eq!((request.method.as_str(), request.path.as_str(), &request.body[..]), ("POST", "/login", &b"xyz"[..]));
        assert_eq!(request.cookie("session"), Some("abc"));
        assert_eq!(read(b"POST / HTTP/1.1\r\nContent-Length: 999999\r\n\r\n").await.unwrap_err().0, 413);
        assert_eq!(read(b"GET / HTTP/1.1\r\nX: \x01\r\n\r\n").await.unwrap_err().0, 400);
        let long = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(MAX_HEAD));
        assert_eq!(read(long.as_bytes()).await.unwrap_err().0, 431);
        assert!(read(b"").await.unwrap().is_none());
    }
}
