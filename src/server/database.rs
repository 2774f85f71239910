//! The credential database of SIP authentication, as the paper's proxy had (a digest check
//! plus a MySQL lookup): MariaDB from Debian, started by the harness with its data in a
//! temporary directory, on loopback, with Kamailio's `version` and `subscriber` tables
//! (the schema files Kamailio ships) and one subscriber the harness inserts; or SQLite
//! (Kamailio's db_sqlite module), a file in the same directory. Stopped by its own pid.

use super::process::{self, Started};
use crate::{Error, Result};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Which database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DatabaseKind {
    /// MariaDB (Debian's mariadb-server), through Kamailio's db_mysql.
    Mariadb,
    /// SQLite, through Kamailio's db_sqlite.
    Sqlite,
    /// No database: the SIP-auth configurations are not run.
    None,
}

impl DatabaseKind {
    /// The Kamailio configuration define that loads its driver.
    pub fn define(self) -> &'static str {
        match self {
            DatabaseKind::Mariadb => "WITH_MYSQL",
            DatabaseKind::Sqlite => "WITH_SQLITE",
            DatabaseKind::None => "WITHOUT_DB",
        }
    }
}

/// A running credential database.
pub struct Database {
    /// Which.
    pub kind: DatabaseKind,
    /// Kamailio's `db_url` for it.
    pub url: String,
    /// Its version.
    pub version: String,
    /// The MariaDB server process (none for SQLite).
    pub process: Option<Started>,
}

impl Database {
    /// `mariadb 10.11.14-MariaDB-0+deb12u2` or `sqlite 3.40.1`.
    pub fn describe(&self) -> String {
        match self.kind {
            DatabaseKind::Mariadb => format!("mariadb {}", self.version),
            _ => format!("sqlite {}", self.version),
        }
    }
}

/// Where Kamailio's schema files are (package kamailio, kamailio-sqlite-modules).
const MYSQL_SCHEMA: &str = "/usr/share/kamailio/mysql";
const SQLITE_SCHEMA: &str = "/usr/share/kamailio/db_sqlite";

fn need(program: &str, package: &str) -> Result<()> {
    let found = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()));
    if found {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "{program} is not installed (Debian package {package}; `make kamailio` installs it)"
        )))
    }
}

fn schema(dir: &str) -> Result<String> {
    let mut sql = String::new();
    for f in ["standard-create.sql", "auth_db-create.sql"] {
        let p = Path::new(dir).join(f);
        sql.push_str(&std::fs::read_to_string(&p).map_err(|e| {
            Error::io(
                format!(
                    "reading Kamailio's schema {} (a missing database schema)",
                    p.display()
                ),
                e,
            )
        })?);
        sql.push('\n');
    }
    Ok(sql)
}

/// SQL string literal (single quotes doubled).
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn run_tool(cmd: &mut Command, what: &str, input: Option<&str>) -> Result<String> {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::io(format!("{what}: starting {:?}", cmd.get_program()), e))?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin
            .write_all(text.as_bytes())
            .map_err(|e| Error::io(format!("{what}: writing its input"), e))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| Error::io(format!("{what}: waiting"), e))?;
    if !out.status.success() {
        return Err(Error::Usage(format!(
            "{what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Starts the database of `kind` in `dir` with one subscriber `user`/`password` (domain
/// `tlscost.test`, the realm of the flows).
pub fn start(kind: DatabaseKind, dir: &Path, user: &str, password: &str) -> Result<Database> {
    match kind {
        DatabaseKind::Mariadb => start_mariadb(dir, user, password),
        DatabaseKind::Sqlite => start_sqlite(dir, user, password),
        DatabaseKind::None => Err(Error::Usage(
            "SIP-auth configurations need a database (--database mariadb or sqlite)".into(),
        )),
    }
}

fn subscriber_sql(user: &str, password: &str) -> String {
    format!(
        "INSERT INTO subscriber (username, domain, password) VALUES ({}, 'tlscost.test', {});\n",
        lit(user),
        lit(password)
    )
}

fn start_mariadb(dir: &Path, user: &str, password: &str) -> Result<Database> {
    need("mariadbd", "mariadb-server")?;
    need("mariadb-install-db", "mariadb-server")?;
    need("mariadb", "mariadb-client")?;
    let sql = schema(MYSQL_SCHEMA)?;
    let data = dir.join("mariadb");
    let socket = dir.join("mariadb.sock");
    let port = process::free_ports(1)?[0];
    run_tool(
        Command::new("mariadb-install-db")
            .arg("--no-defaults")
            .arg("--user=root")
            .arg(format!("--datadir={}", data.display()))
            .arg("--skip-test-db")
            .arg("--auth-root-authentication-method=socket"),
        "mariadb-install-db (creating the database in a temporary directory)",
        None,
    )?;
    let mut cmd = Command::new("mariadbd");
    cmd.arg("--no-defaults")
        .arg("--user=root")
        .arg(format!("--datadir={}", data.display()))
        .arg(format!("--socket={}", socket.display()))
        .arg("--bind-address=127.0.0.1")
        .arg(format!("--port={port}"))
        .arg(format!("--pid-file={}", dir.join("mariadb.pid").display()))
        .arg("--innodb-buffer-pool-size=16M")
        .arg("--skip-log-bin");
    let mut p = Started::spawn("mariadbd", cmd, &dir.join("mariadb.log"))?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    p.wait_ready("accepting connections", Duration::from_secs(60), || {
        socket.exists() && process::tcp_listening(addr)
    })?;
    let client = || {
        let mut c = Command::new("mariadb");
        c.arg("--no-defaults")
            .arg(format!("--socket={}", socket.display()))
            .arg("--user=root");
        c
    };
    let db_password = format!("tlscost-{}", crate::testbed::load::run_id());
    let setup = format!(
        "CREATE DATABASE kamailio;\nCREATE USER 'kamailio'@'127.0.0.1' IDENTIFIED BY {pw};\nGRANT ALL ON kamailio.* TO 'kamailio'@'127.0.0.1';\nUSE kamailio;\n{sql}{sub}",
        pw = lit(&db_password),
        sub = subscriber_sql(user, password)
    );
    run_tool(&mut client(), "filling the MariaDB database", Some(&setup))?;
    let version = run_tool(
        client().args(["--batch", "--skip-column-names", "-e", "SELECT VERSION()"]),
        "asking MariaDB its version",
        None,
    )?
    .trim()
    .to_string();
    Ok(Database {
        kind: DatabaseKind::Mariadb,
        url: format!("mysql://kamailio:{db_password}@127.0.0.1:{port}/kamailio"),
        version,
        process: Some(p),
    })
}

fn start_sqlite(dir: &Path, user: &str, password: &str) -> Result<Database> {
    need("sqlite3", "sqlite3")?;
    if !Path::new(super::kamailio::MODULES)
        .join("db_sqlite.so")
        .exists()
    {
        return Err(Error::Usage(
            "Kamailio's db_sqlite module is not installed (Debian package kamailio-sqlite-modules)"
                .into(),
        ));
    }
    let sql = schema(SQLITE_SCHEMA)?;
    let file: PathBuf = dir.join("kamailio.sqlite");
    run_tool(
        Command::new("sqlite3").arg(&file),
        "creating the SQLite database",
        Some(&format!("{sql}{}", subscriber_sql(user, password))),
    )?;
    let version = run_tool(
        Command::new("sqlite3").arg("--version"),
        "sqlite3 --version",
        None,
    )?
    .split_whitespace()
    .next()
    .unwrap_or("unknown")
    .to_string();
    Ok(Database {
        kind: DatabaseKind::Sqlite,
        url: format!("sqlite://{}", file.display()),
        version,
        process: None,
    })
}
