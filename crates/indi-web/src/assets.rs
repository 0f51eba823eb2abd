//! The page, built into the binary: nothing is fetched from elsewhere (observatories are often
//! offline).

/// `(Content-Type, body)` of a static asset.
pub fn get(path: &str) -> Option<(&'static str, &'static [u8])> {
    Some(match path {
        "/" | "/index.html" => ("text/html; charset=utf-8", include_bytes!("../assets/index.html")),
        "/app.js" => ("text/javascript; charset=utf-8", include_bytes!("../assets/app.js")),
        "/fits.js" => ("text/javascript; charset=utf-8", include_bytes!("../assets/fits.js")),
        "/style.css" => ("text/css; charset=utf-8", include_bytes!("../assets/style.css")),
        _ => return None,
    })
}
