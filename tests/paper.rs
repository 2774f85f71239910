//! `results/paper.json` against the digest of the paper (`paper/FIGURES.md`): spot checks of
//! many figures, the configuration list and its count note, the ambiguity notes, and the
//! loader's errors on a missing or corrupt file.

use serde_json::Value;
use std::path::Path;
use tempfile::TempDir;
use tlscost::model::components::ComponentId;
use tlscost::model::configs::Config;
use tlscost::model::paper::Paper;
use tlscost::Error;

fn paper() -> Paper {
    Paper::locate().expect("results/paper.json loads")
}

fn units(p: &Paper, id: &str) -> f64 {
    p.components
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no component {id}"))
        .units
        .value
        .unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn fig13_components() {
    let p = paper();
    for (id, v) in [
        ("udp-base", 1.0),
        ("tcp-extra", 1.1),
        ("tls-bulk-aes", 1.1),
        ("tls-bulk-3des", 1.65),
        ("auth-udp", 3.0),
        ("auth-tcp", 3.2),
        ("auth-tls", 3.6),
        ("tcp-handshake-client", 0.65),
        ("tcp-handshake-server", 0.65),
        ("tls-handshake-client-full", 5.3),
        ("tls-handshake-client-mutual", 9.2),
        ("tls-handshake-client-resumed", 1.1),
        ("tls-handshake-server-full", 2.8),
        ("tls-handshake-server-mutual", 5.1),
        ("tls-handshake-server-resumed", 1.4),
        ("tls-handshake-client-fixed-full", 2.65),
        ("tls-handshake-client-fixed-mutual", 4.14),
        ("tls-handshake-client-fixed-resumed", 0.30),
    ] {
        assert!(close(units(&p, id), v), "{id}: {} != {v}", units(&p, id));
    }
    let tcp = p
        .components
        .iter()
        .find(|c| c.id == "tcp-handshake-client")
        .unwrap();
    assert_eq!((tcp.units.low, tcp.units.high), (Some(0.6), Some(0.7)));
    let des = p
        .components
        .iter()
        .find(|c| c.id == "tls-bulk-3des")
        .unwrap();
    assert!(des.units.about && des.units.note.as_ref().unwrap().contains("50% more"));
    // Every component of the model's table has its paper figure, except 3DES auth over TLS.
    for id in ComponentId::table() {
        assert_eq!(
            p.component(&id).is_some(),
            id.paper_id().is_some(),
            "{}",
            id.id()
        );
    }
}

#[test]
fn configuration_list_and_count_mismatch() {
    let p = paper();
    let names: Vec<&str> = p
        .configurations
        .list
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    let model: Vec<String> = Config::all().iter().map(|c| c.name()).collect();
    assert_eq!(names, model);
    assert_eq!(p.configurations.count_stated, 18);
    assert_eq!(p.configurations.count_listed, 20);
    assert!(p.configurations.note.contains("18"));
    for n in [
        "proxy-chain/udp",
        "proxy-chain/tls-aes",
        "proxy-chain/tls-3des",
        "proxy-chain-auth/tls-3des",
        "outbound-auth/tls-mutual",
        "inbound/tls-resumed",
        "local-auth/tcp",
    ] {
        assert!(names.contains(&n), "{n}");
    }
    // Names are unique.
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), names.len());
}

#[test]
fn profiles_and_throughput_ratios() {
    let p = paper();
    for (name, events) in [
        ("proxy-chain/udp", 144.0),
        ("proxy-chain/tcp", 300.0),
        ("proxy-chain/tls-aes", 450.0),
        ("proxy-chain/tls-3des", 525.0),
        ("outbound-auth/tcp", 840.0),
        ("outbound-auth/tls", 1470.0),
        ("outbound-auth/tls-mutual", 1790.0),
        ("outbound-auth/tls-resumed", 1270.0),
        ("inbound/tcp", 394.0),
        ("inbound/tls", 1315.0),
        ("inbound/tls-mutual", 1865.0),
        ("inbound/tls-resumed", 710.0),
        ("local-auth/tcp", 900.0),
        ("local-auth/tls", 2400.0),
        ("local-auth/tls-mutual", 3170.0),
        ("local-auth/tls-resumed", 1500.0),
    ] {
        assert_eq!(p.events_k(name), Some((events, false)), "{name}");
    }
    // Quoted only as a ratio: derived, and marked so.
    let (v, derived) = p.events_k("proxy-chain-auth/tcp").unwrap();
    assert!(derived && close(v, 570.0 * 1.32));
    assert!(close(
        p.events_units("local-auth/tls").unwrap().0,
        2400.0 / 144.0
    ));

    for (name, to, r) in [
        ("proxy-chain/tcp", "proxy-chain/udp", 0.47),
        ("proxy-chain/tls-aes", "proxy-chain/tcp", 0.60),
        ("proxy-chain/tls-3des", "proxy-chain/tcp", 0.47),
        ("proxy-chain-auth/tcp", "proxy-chain-auth/udp", 0.78),
        ("proxy-chain-auth/tls-aes", "proxy-chain-auth/tcp", 0.76),
        ("proxy-chain-auth/tls-3des", "proxy-chain-auth/tcp", 0.68),
        ("outbound-auth/tcp", "proxy-chain-auth/udp", 0.58),
        ("outbound-auth/tls", "outbound-auth/tcp", 0.56),
        ("outbound-auth/tls-mutual", "outbound-auth/tls", 0.80),
        ("outbound-auth/tls-resumed", "outbound-auth/tls", 1.20),
        ("inbound/tcp", "proxy-chain/udp", 0.24),
        ("inbound/tls", "inbound/tcp", 0.28),
        ("inbound/tls-mutual", "inbound/tls", 0.71),
        ("inbound/tls-resumed", "inbound/tls", 2.00),
        ("local-auth/tcp", "proxy-chain-auth/udp", 0.53),
        ("local-auth/tls", "local-auth/tcp", 0.37),
        ("local-auth/tls-mutual", "local-auth/tls", 0.67),
        ("local-auth/tls-resumed", "local-auth/tls", 1.66),
    ] {
        let t = p.config(name).unwrap().throughput_ratio.as_ref().unwrap();
        assert_eq!((t.to.as_str(), t.value), (to, r), "{name}");
        // The model compares each configuration with the same one the paper does.
        let c = Config::from_name(name).unwrap();
        assert_eq!(c.reference().unwrap().name(), to, "{name}");
    }
}

#[test]
fn paper_model_composes_fig13() {
    let p = paper();
    let m = |n: &str| p.model_units(&Config::from_name(n).unwrap()).unwrap();
    assert!(close(m("proxy-chain/udp"), 1.0));
    assert!(close(m("proxy-chain/tls-aes"), 3.2));
    // outbound TLS: 1 + 3.6 auth + 1.1 + 1.1 + 0.65 TCP accept + 2.8 = 10.25 (events: 1470/144 = 10.2).
    assert!(close(m("outbound-auth/tls"), 10.25));
    assert!(close(m("inbound/tls"), 1.0 + 1.1 + 1.1 + 0.65 + 5.3));
    assert!(close(
        m("local-auth/tls-mutual"),
        1.0 + 3.6 + 1.1 + 1.1 + 1.3 + 9.2 + 5.1
    ));
}

#[test]
fn breakdowns_notes_and_appendix_d() {
    let p = paper();
    let raw = &p.raw;
    let breakdowns = raw["profiles"]["breakdowns"].as_array().unwrap();
    let find = |mode: &str, step: &str| -> &Value {
        breakdowns
            .iter()
            .find(|b| b["mode"] == mode && b["step"] == step)
            .unwrap_or_else(|| panic!("{mode} {step}"))
    };
    let b = find("proxy-chain", "tcp->tls-aes");
    assert_eq!(b["parts"]["aes"], 19);
    assert_eq!(b["parts"]["mac"], 25);
    assert_eq!(find("proxy-chain", "tls-3des")["parts"]["3des"], 93);
    let b = find("outbound", "tcp->tls");
    assert_eq!(
        (b["delta"].as_i64(), b["parts"]["rsa"].as_i64()),
        (Some(630), Some(233))
    );
    assert_eq!(find("outbound", "tls->tls-mutual")["parts"]["rsa"], 160);
    let b = find("inbound", "tcp->tls");
    assert_eq!(
        (
            b["parts"]["rsa"].as_i64(),
            b["parts"]["other_libcrypto"].as_i64()
        ),
        (Some(212), Some(173))
    );
    // The "310K" MAC misprint is kept as printed, with a note.
    let b = find("inbound", "tls->tls-mutual");
    assert_eq!(b["parts"]["mac"], 310);
    assert!(b["note"].as_str().unwrap().contains("misprint"));
    let b = find("local", "tcp->tls");
    assert_eq!(
        (
            b["delta"].as_i64(),
            b["parts"]["rsa"].as_i64(),
            b["parts"]["mac"].as_i64()
        ),
        (Some(1500), Some(434), Some(219))
    );
    assert_eq!(find("local", "tls->tls-resumed")["parts"]["rsa"], -415);

    let d = &raw["appendix_d"];
    assert_eq!(d["needless_ssl_connect_calls"]["value"], 44);
    assert_eq!(d["inbound_tls"]["libcrypto_before"], 500);
    assert_eq!(d["inbound_tls"]["libcrypto_after"], 310);
    assert_eq!(d["inbound_tls"]["total_after"], 936);
    assert_eq!(d["https_comparison"]["https_server"]["rsa"], 300);
    assert_eq!(d["client_fix"]["client_cost_cut"]["mutual"], 0.55);

    let v = &raw["validation"];
    assert_eq!(v["cpu_scaling_mean_error"]["value"], 0.15);
    assert_eq!(
        (
            v["local_predicted_vs_measured"]["low"].as_f64(),
            v["local_predicted_vs_measured"]["high"].as_f64()
        ),
        (Some(0.03), Some(0.13))
    );
    assert_eq!(
        raw["throughput_ratios"]["headlines"]["bulk_cipher_share_max"]["value"],
        0.07
    );
    assert_eq!(raw["setup"]["profile_load_cps"], 50);
    assert_eq!(
        raw["setup"]["cipher_suites"]["default"],
        "TLS_RSA_WITH_AES_128_CBC_SHA"
    );
    let modes = raw["setup"]["proxy_modes"].as_array().unwrap();
    assert_eq!(modes.len(), 4);
    assert_eq!(raw["related"].as_array().unwrap().len(), 9);
}

#[test]
fn missing_or_corrupt_paper_file_is_a_clear_error() {
    let tmp = TempDir::new().unwrap();
    let missing = tmp.path().join("paper.json");
    let err = Paper::load(&missing).unwrap_err();
    assert!(matches!(err, Error::Results { .. }), "{err:?}");
    assert!(err.to_string().contains("paper.json"));

    let text = std::fs::read_to_string(Paper::default_path()).unwrap();
    std::fs::write(&missing, &text[..text.len() / 3]).unwrap();
    let err = Paper::load(&missing).unwrap_err();
    assert!(err.to_string().contains("truncated or corrupt"), "{err}");

    let mut v: Value = serde_json::from_str(&text).unwrap();
    v["configurations"]["list"]
        .as_array_mut()
        .unwrap()
        .remove(3);
    v["configurations"]["count_listed"] = 19.into();
    std::fs::write(&missing, v.to_string()).unwrap();
    let err = Paper::load(&missing).unwrap_err();
    assert!(
        err.to_string().contains("proxy-chain/tls-3des is missing"),
        "{err}"
    );

    let mut v: Value = serde_json::from_str(&text).unwrap();
    v["schema"] = "tlscost-paper/0".into();
    std::fs::write(&missing, v.to_string()).unwrap();
    assert!(Paper::load(&missing)
        .unwrap_err()
        .to_string()
        .contains("schema"));

    let mut v: Value = serde_json::from_str(&text).unwrap();
    v["configurations"]["list"][0]["name"] = "proxy-chain/carrier-pigeon".into();
    std::fs::write(&missing, v.to_string()).unwrap();
    assert!(Paper::load(&missing)
        .unwrap_err()
        .to_string()
        .contains("carrier-pigeon"));
    assert!(Path::new(&Paper::default_path()).exists());
}
