//! A PostgreSQL server of the test's own (initdb in a temporary directory,
//! on a free loopback port), so that a test can restart it without
//! disturbing anything else.
use std::path::PathBuf;
use std::process::Command;

use tempfile::TempDir;

pub struct PrivatePostgres {
    dir: TempDir,
    bin: PathBuf,
    pub port: u16,
    options: String,
}

fn find_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> =
        std::fs::read_dir("/usr/lib/postgresql").ok()?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    versions.sort();
    versions.into_iter().rev().map(|v| v.join("bin")).find(|b| b.join("initdb").exists())
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0")).unwrap_or(false)
}

impl PrivatePostgres {
    /// Starts one, or `None` where PostgreSQL is not installed.
    pub fn start() -> Option<PrivatePostgres> {
        Self::start_with(false)
    }

    /// Starts one that also accepts TLS, with a certificate for 127.0.0.1
    /// signed by a test CA (see `ca_file`).
    pub fn start_with_tls() -> Option<PrivatePostgres> {
        Self::start_with(true)
    }

    /// The CA that signed the TLS server's certificate.
    pub fn ca_file(&self) -> String {
        self.dir.path().join("ca.crt").display().to_string()
    }

    fn start_with(tls: bool) -> Option<PrivatePostgres> {
        let bin = find_bin()?;
        let dir = TempDir::new().unwrap();
        if is_root() {
            // PostgreSQL refuses to run as root.
            assert!(Command::new("chown").args(["-R", "postgres"]).arg(dir.path()).status().unwrap().success());
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut options = format!("-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", dir.path().display());
        if tls {
            // A test CA and a server certificate it signs (rustls refuses a
            // self-signed CA certificate presented as the server's own).
            let script = r#"set -e
                openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=sessiond-test-ca -keyout ca.key -out ca.crt
                openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key -out server.csr
                printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' > ext.cnf
                openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -out server.crt -extfile ext.cnf
                chmod 600 server.key"#;
            let made = Command::new("sh")
                .args(["-c", script])
                .current_dir(dir.path())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .unwrap();
            assert!(made.success(), "openssl could not make certificates");
            let (crt, key) = (dir.path().join("server.crt"), dir.path().join("server.key"));
            if is_root() {
                Command::new("chown").args(["postgres"]).arg(&key).arg(&crt).status().unwrap();
            }
            options.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                crt.display(),
                key.display()
            ));
        }
        let pg = PrivatePostgres { dir, bin, port, options };
        assert!(pg.run("initdb", &["-D", &pg.data(), "-U", "postgres", "--auth=trust", "--no-sync"]), "initdb failed");
        pg.start_again();
        Some(pg)
    }

    /// Starts the stopped server.
    pub fn start_again(&self) {
        let log = self.dir.path().join("log").display().to_string();
        assert!(
            self.run("pg_ctl", &["-D", &self.data(), "-o", &self.options, "-l", &log, "-w", "start"]),
            "pg_ctl start failed"
        );
    }

    /// Stops the server (fast shutdown: connections are cut).
    pub fn stop(&self) {
        assert!(self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]), "pg_ctl stop failed");
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn run(&self, tool: &str, args: &[&str]) -> bool {
        let exe = self.bin.join(tool);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        cmd.args(args).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
        cmd.status().map(|s| s.success()).unwrap_or(false)
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A fast restart: connections are cut, the server comes back on the
    /// same port.
    pub fn restart(&self) {
        assert!(self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "restart"]), "pg_ctl restart failed");
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "immediate", "-w", "stop"]);
    }
}
