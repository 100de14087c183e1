//! `graph-emulator`: serves the Graph emulator over HTTPS on a loopback port, prints
//! `GRAPH_EMULATOR_URL=...` and `GRAPH_EMULATOR_CA_FILE=...` on stdout, and runs until killed.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use acceptance_tests::emulator::auth::Credentials;
use acceptance_tests::emulator::faults::{FaultSettings, WriteFaultMode};
use acceptance_tests::emulator::store::Clock;
use acceptance_tests::emulator::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, EmulatorConfig, EmulatorOptions, start,
};
use clap::Parser;

/// Strict Microsoft Graph emulator for end-to-end tests (HTTPS on loopback only).
#[derive(Debug, Parser)]
#[command(name = "graph-emulator", version)]
struct Args {
    /// Address to listen on; must be loopback (port 0 = any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Tenant id accepted by the token endpoint.
    #[arg(long, default_value = DEFAULT_TENANT_ID)]
    tenant_id: String,
    /// Client (application) id accepted by the token endpoint.
    #[arg(long, default_value = DEFAULT_CLIENT_ID)]
    client_id: String,
    /// Client secret accepted by the token endpoint.
    #[arg(long, default_value = DEFAULT_CLIENT_SECRET, hide_default_value = false)]
    client_secret: String,
    /// PEM file of a certificate registered on the app (repeatable): client assertions must
    /// then be signed by one of them (by default only their structure is checked).
    #[arg(long)]
    client_certificate: Vec<PathBuf>,
    /// Comma-separated application permissions of the app (default: every permission in the
    /// Permissions summary of graph-reference.md).
    #[arg(long, value_delimiter = ',')]
    roles: Option<Vec<String>>,
    /// JSON file with extra fixtures (`{"collection": [objects]}`).
    #[arg(long)]
    fixtures: Option<PathBuf>,
    /// Delay before each Graph request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Extra random delay per Graph request, 0..=N ms (seeded).
    #[arg(long, default_value_t = 0)]
    latency_jitter_ms: u64,
    /// Percentage of Graph requests answered 429 (Retry-After: 1).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=100))]
    throttle_percent: u8,
    /// Percentage of Graph requests answered 503 before any change.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=100))]
    error_percent: u8,
    /// Percentage of Graph requests whose change is committed but whose response is lost.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=100))]
    lost_response_percent: u8,
    /// Window in which created/changed objects are invisible or stale to reads (ms).
    #[arg(long, default_value_t = 0)]
    consistency_lag_ms: u64,
    /// Seed for fault decisions and $batch response order.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Intune writes per 20 s per app before 429 (off by default).
    #[arg(long)]
    intune_write_limit: Option<u32>,
    /// Page size for every collection (default 100 directory, 1000 Intune).
    #[arg(long)]
    page_size: Option<usize>,
    /// Fail exactly the N-th Graph write (1-based; `$batch` inner writes counted, the envelope not).
    #[arg(long)]
    fail_write_at: Option<u32>,
    /// How that write fails: `error` (503 before any change) or `lost-response` (committed,
    /// then the connection is dropped).
    #[arg(long, value_enum, default_value_t = WriteMode::Error)]
    fail_write_mode: WriteMode,
    /// Count only writes with this label: "METHOD /version/path", query dropped, ids as `{id}`.
    #[arg(long)]
    fail_write_match: Option<String>,
    /// Collection pages carry their `@odata.nextLink` on this host instead of the emulator's.
    #[arg(long)]
    next_link_host: Option<String>,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum WriteMode {
    Error,
    LostResponse,
}

fn load_fixtures(path: &PathBuf) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("parsing {}: {e}", path.display()))
}

/// The certificates (DER) of the given PEM files.
fn load_certificates(paths: &[PathBuf]) -> Result<Vec<Vec<u8>>, String> {
    use rustls_pki_types::pem::PemObject;
    let mut out = Vec::new();
    for path in paths {
        let pem = std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        let before = out.len();
        for cert in rustls_pki_types::CertificateDer::pem_slice_iter(&pem) {
            out.push(cert.map_err(|e| format!("parsing {}: {e}", path.display()))?.to_vec());
        }
        if out.len() == before {
            return Err(format!("{} holds no certificate", path.display()));
        }
    }
    Ok(out)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let extra_fixtures = match args.fixtures.as_ref().map(load_fixtures).transpose() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("graph-emulator: {e}");
            return ExitCode::from(2);
        }
    };
    let client_certificates = match load_certificates(&args.client_certificate) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("graph-emulator: {e}");
            return ExitCode::from(2);
        }
    };
    let config = EmulatorConfig {
        credentials: Credentials {
            tenant_id: args.tenant_id,
            client_id: args.client_id,
            client_secret: args.client_secret,
            client_certificates,
        },
        roles: args.roles,
        faults: FaultSettings {
            latency_ms: args.latency_ms,
            latency_jitter_ms: args.latency_jitter_ms,
            throttle_percent: args.throttle_percent,
            error_percent: args.error_percent,
            lost_response_percent: args.lost_response_percent,
            consistency_lag_ms: args.consistency_lag_ms,
            seed: args.seed,
            intune_write_limit: args.intune_write_limit.filter(|n| *n > 0),
            page_size: args.page_size,
            fail_write_at: args.fail_write_at.filter(|n| *n > 0),
            fail_write_mode: match args.fail_write_mode {
                WriteMode::Error => WriteFaultMode::Error,
                WriteMode::LostResponse => WriteFaultMode::LostResponse,
            },
            fail_write_match: args.fail_write_match,
            next_link_host: args.next_link_host,
        },
        extra_fixtures,
        clock: Clock::system(),
        base_url: String::new(),
    };
    let running = match start(EmulatorOptions { listen: args.listen, config }).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("graph-emulator: {e}");
            return ExitCode::from(1);
        }
    };
    let mut out = std::io::stdout().lock();
    let printed = writeln!(out, "GRAPH_EMULATOR_URL={}", running.url)
        .and_then(|()| writeln!(out, "GRAPH_EMULATOR_CA_FILE={}", running.ca_pem_path.display()))
        .and_then(|()| out.flush());
    drop(out);
    if let Err(e) = printed {
        eprintln!("graph-emulator: writing to stdout failed: {e}");
        return ExitCode::from(1);
    }
    let _ = tokio::signal::ctrl_c().await;
    running.stop().await;
    ExitCode::SUCCESS
}
