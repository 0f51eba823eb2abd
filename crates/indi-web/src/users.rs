//! Users of the panel in an SQLite file, passwords hashed with Argon2id.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::Mutex;

use crate::bridge::Access;

/// The user database.
pub struct Users {
    db: Mutex<Connection>,
}

/// A user database error, in words.
#[derive(Debug)]
pub struct UserError(pub String);

impl std::fmt::Display for UserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<rusqlite::Error> for UserError {
    fn from(error: rusqlite::Error) -> UserError {
        UserError(format!("user database: {error}"))
    }
}

/// `viewer` or `operator`.
pub fn parse_role(text: &str) -> Result<Access, UserError> {
    match text {
        "viewer" => Ok(Access::Viewer),
        "operator" => Ok(Access::Operator),
        _ => Err(UserError(format!("role '{text}': expected viewer or operator"))),
    }
}

fn role_text(access: Access) -> &'static str {
    match access {
        Access::Viewer => "viewer",
        Access::Operator => "operator",
    }
}

/// Random bytes from the system, as lower-case hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the system's random source");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// A password for a new user: 96 random bits, shown once.
pub fn generate_password() -> String {
    random_hex(12)
}

fn check_name(name: &str) -> Result<(), UserError> {
    if name.is_empty() || name.len() > 64 || name.chars().any(|c| c.is_control()) {
        return Err(UserError("a user name is 1 to 64 printable characters".into()));
    }
    Ok(())
}

fn hash(password: &str) -> Result<String, UserError> {
    if password.len() < 8 || password.len() > 1024 {
        return Err(UserError("a password is 8 to 1024 bytes".into()));
    }
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).expect("the system's random source");
    let salt = SaltString::encode_b64(&salt).map_err(|e| UserError(e.to_string()))?;
    // Argon2id, 19 MiB, 2 passes (the crate's defaults, OWASP's minimum).
    Ok(Argon2::default().hash_password(password.as_bytes(), &salt).map_err(|e| UserError(e.to_string()))?.to_string())
}

impl Users {
    /// Opens (creating if needed) the database at `path`; its directory is created too.
    pub fn open(path: &Path) -> Result<Users, UserError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| UserError(format!("{}: {e}", dir.display())))?;
        }
        let db = Connection::open(path).map_err(|e| UserError(format!("{}: {e}", path.display())))?;
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, hash TEXT NOT NULL, role TEXT NOT NULL CHECK (role IN ('viewer', 'operator')))",
        )?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
        Ok(Users { db: Mutex::new(db) })
    }

    /// Adds a user; an existing name is an error.
    pub fn add(&self, name: &str, password: &str, access: Access) -> Result<(), UserError> {
        check_name(name)?;
        let hash = hash(password)?;
        let db = self.db.lock().unwrap();
        let added = db.execute("INSERT OR IGNORE INTO users (name, hash, role) VALUES (?1, ?2, ?3)", params![name, hash, role_text(access)])?;
        if added == 0 {
            return Err(UserError(format!("user '{name}' exists already")));
        }
        Ok(())
    }

    /// Removes a user.
    pub fn remove(&self, name: &str) -> Result<(), UserError> {
        if self.db.lock().unwrap().execute("DELETE FROM users WHERE name = ?1", params![name])? == 0 {
            return Err(UserError(format!("no user '{name}'")));
        }
        Ok(())
    }

    /// Sets a user's password.
    pub fn passwd(&self, name: &str, password: &str) -> Result<(), UserError> {
        let hash = hash(password)?;
        if self.db.lock().unwrap().execute("UPDATE users SET hash = ?2 WHERE name = ?1", params![name, hash])? == 0 {
            return Err(UserError(format!("no user '{name}'")));
        }
        Ok(())
    }

    /// Number of users.
    pub fn count(&self) -> Result<usize, UserError> {
        Ok(self.db.lock().unwrap().query_row("SELECT count(*) FROM users", [], |row| row.get::<_, i64>(0))? as usize)
    }

    /// The user's role when the password is right (slow on purpose: Argon2).
    pub fn verify(&self, name: &str, password: &str) -> Option<Access> {
        let row: Option<(String, String)> = self
            .db
            .lock()
            .unwrap()
            .query_row("SELECT hash, role FROM users WHERE name = ?1", params![name], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()
            .ok()?;
        let Some((stored, role)) = row else {
            // Same work for an unknown name, so timing does not tell which names exist.
            let _ = hash("not a password of anyone");
            return None;
        };
        let parsed = PasswordHash::new(&stored).ok()?;
        Argon2::default().verify_password(password.as_bytes(), &parsed).ok()?;
        parse_role(&role).ok()
    }

    /// The role of a user that still exists.
    pub fn role(&self, name: &str) -> Option<Access> {
        let role: String = self.db.lock().unwrap().query_row("SELECT role FROM users WHERE name = ?1", params![name], |row| row.get(0)).optional().ok()??;
        parse_role(&role).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_added_verified_changed_and_removed() {
        let dir = std::env::temp_dir().join(format!("indi-web-users-{}", random_hex(6)));
        let users = Users::open(&dir.join("users.db")).unwrap();
        users.add("ann", "correct horse", Access::Operator).unwrap();
        assert!(users.add("ann", "another one", Access::Viewer).unwrap_err().0.contains("exists"));
        assert!(users.add("bob", "short", Access::Viewer).unwrap_err().0.contains("8 to 1024"));
        assert_eq!(users.verify("ann", "correct horse"), Some(Access::Operator));
        assert_eq!(users.verify("ann", "wrong horse"), None);
        assert_eq!(users.verify("nobody", "correct horse"), None);
        users.passwd("ann", "battery staple").unwrap();
        assert_eq!(users.verify("ann", "correct horse"), None);
        assert_eq!(users.verify("ann", "battery staple"), Some(Access::Operator));
        let stored: String = users.db.lock().unwrap().query_row("SELECT hash FROM users", [], |r| r.get(0)).unwrap();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        users.remove("ann").unwrap();
        assert_eq!(users.count().unwrap(), 0);
        assert!(users.remove("ann").is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
