use super::*;

const GOOD: &str = r#"
[gateway]
id = "urn:hengqin-bridge:gateway:test"

[issuer]
name = "测试签发机构"
uscc = "91120222MA06DG3067"
defining_body_uscc = "11100000000013338W"
area_code = "440400"

[paths]
policies = "policies"
mappings = "/abs/mappings"

[signer]
certificate = "cn-gd/bridge-signer.pem"
key = "cn-gd/bridge-signer.key"

[pseudonym]
key = "keys/pseudonym.key"

[trust.MO]
source = "file:mo/trust-list.jws"
signer_pins = ["0000000000000000000000000000000000000000000000000000000000000000"]
require_revocation = true

[trust.CN-GD]
source = "https://lists.example/cn-gd.jws"
signer_pins = ["1111111111111111111111111111111111111111111111111111111111111111"]
refresh_seconds = 30
https_roots = "cn-gd/publisher-roots.pem"
"#;

fn parse(text: &str) -> Result<Config, Vec<FileError>> {
    Config::parse(Path::new("/etc/hq/bridge.toml"), text, |_| None)
}

#[test]
fn valid_config_resolves_paths() {
    let c = parse(GOOD).unwrap();
    assert_eq!(c.gateway_id, "urn:hengqin-bridge:gateway:test");
    assert_eq!(c.policies_dir, Path::new("/etc/hq/policies"));
    assert_eq!(c.mappings_dir, Path::new("/abs/mappings"));
    assert_eq!(c.issuer.uscc.as_str(), "91120222MA06DG3067");
    let mo = c.trust.iter().find(|t| t.domain == TrustDomainId::Mo).unwrap();
    assert_eq!(mo.source, ListSource::File(PathBuf::from("/etc/hq/mo/trust-list.jws")));
    assert!(mo.require_revocation);
    assert_eq!(mo.refresh, DEFAULT_REFRESH);
    let gd = c.trust.iter().find(|t| t.domain == TrustDomainId::CnGd).unwrap();
    assert_eq!(gd.source, ListSource::Https("https://lists.example/cn-gd.jws".into()));
    assert_eq!(gd.refresh, Duration::seconds(30));
}

#[test]
fn environment_overrides_secret_paths() {
    let c = Config::parse(Path::new("/etc/hq/bridge.toml"), GOOD, |k| {
        (k == ENV_SIGNER_KEY).then(|| "/run/secrets/signer.key".to_owned())
    })
    .unwrap();
    assert_eq!(c.signer_key, Path::new("/run/secrets/signer.key"));
    assert_eq!(c.pseudonym_key, Path::new("/etc/hq/keys/pseudonym.key"));
}

#[test]
fn unknown_key_reported_with_line() {
    let text = GOOD.replace("area_code = \"440400\"", "area_code = \"440400\"\ncolour = \"red\"");
    let errs = parse(&text).unwrap_err();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].line, Some(10), "{}", errs[0]);
    assert!(errs[0].message.contains("colour"), "{}", errs[0]);
}

#[test]
fn every_semantic_problem_reported_at_once() {
    let text = GOOD
        .replace("91120222MA06DG3067", "91120222MA06DG3068")
        .replace("\"440400\"", "\"4404\"")
        .replace("file:mo/trust-list.jws", "ftp://x")
        .replace("1111111111111111111111111111111111111111111111111111111111111111", "XYZ");
    let errs = parse(&text).unwrap_err();
    let rendered: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert_eq!(errs.len(), 4, "{rendered:#?}");
    assert!(rendered[0].starts_with("/etc/hq/bridge.toml:7: issuer.uscc"), "{rendered:#?}");
    assert!(rendered[1].starts_with("/etc/hq/bridge.toml:9: issuer.area_code"), "{rendered:#?}");
    assert!(rendered.iter().any(|r| r.contains(":23: trust.MO.source")), "{rendered:#?}");
    assert!(rendered.iter().any(|r| r.contains(":29: trust.CN-GD.signer_pins")), "{rendered:#?}");
}

#[test]
fn server_and_store_sections() {
    let text = format!(
        "{GOOD}\n[server]\nlisten = \"127.0.0.1:8443\"\ntls_certificate = \"server/server.pem\"\ntls_key = \"server/server.key\"\n\n[store]\npath = \"state\"\n"
    );
    let c = parse(&text).unwrap();
    let sv = c.server.unwrap();
    assert_eq!(sv.listen.to_string(), "127.0.0.1:8443");
    assert_eq!(sv.admin_listen.to_string(), DEFAULT_ADMIN_LISTEN);
    assert_eq!(sv.max_in_flight, DEFAULT_MAX_IN_FLIGHT);
    assert_eq!(sv.tls_key, Path::new("/etc/hq/server/server.key"));
    assert_eq!(c.store.unwrap().path, Path::new("/etc/hq/state"));
    assert!(parse(GOOD).unwrap().server.is_none());

    let bad = text.replace("127.0.0.1:8443", "localhost");
    let errs = parse(&bad).unwrap_err();
    assert!(errs[0].to_string().contains("server.listen must be an address"), "{errs:?}");
}

#[test]
fn signer_backend_defaults_to_openssl_and_names_the_rustcrypto_crate() {
    assert_eq!(parse(GOOD).unwrap().signer_backend, SignerBackend::OpenSsl);
    let with = |value: &str| {
        GOOD.replace(
            "key = \"cn-gd/bridge-signer.key\"",
            &format!("key = \"cn-gd/bridge-signer.key\"\nbackend = {value}"),
        )
    };
    assert_eq!(parse(&with("\"openssl\"")).unwrap().signer_backend, SignerBackend::OpenSsl);
    assert_eq!(parse(&with("\"rustcrypto\"")).unwrap().signer_backend, SignerBackend::RustCrypto);
}

#[test]
fn unknown_signer_backend_reported_with_line_among_other_problems() {
    let text = GOOD
        .replace("key = \"cn-gd/bridge-signer.key\"", "key = \"cn-gd/bridge-signer.key\"\nbackend = \"efficient-sm2\"")
        .replace("\"440400\"", "\"4404\"");
    let errs = parse(&text).unwrap_err();
    let rendered: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert_eq!(errs.len(), 2, "{rendered:#?}");
    assert!(
        rendered.iter().any(|r| r
            .starts_with("/etc/hq/bridge.toml:18: signer.backend \"efficient-sm2\" is not one of openssl, rustcrypto")),
        "{rendered:#?}"
    );
    assert!(rendered.iter().any(|r| r.contains(":9: issuer.area_code")), "{rendered:#?}");

    let typed = GOOD.replace("key = \"cn-gd/bridge-signer.key\"", "key = \"cn-gd/bridge-signer.key\"\nbackend = 2");
    let errs = parse(&typed).unwrap_err();
    assert_eq!(errs[0].line, Some(18), "{}", errs[0]);
}

#[test]
fn both_domains_required() {
    let cut = GOOD.find("[trust.CN-GD]").unwrap();
    let errs = parse(&GOOD[..cut]).unwrap_err();
    assert!(errs[0].message.contains("trust.CN-GD is required"));
}

#[test]
fn the_example_config_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/bridge.toml");
    let c = Config::load(&path, |_| None).unwrap_or_else(|e| panic!("{e:?}"));
    assert!(c.server.is_some() && c.store.is_some());
    assert_eq!(c.signer_backend, SignerBackend::OpenSsl);
    assert_eq!(c.trust.len(), 2);
    assert_eq!(c.policies_dir, Path::new("/etc/hengqin-bridge/policies"));
    assert_eq!(c.store.unwrap().path, Path::new("/var/lib/hengqin-bridge"));
}

#[test]
fn an_https_source_needs_its_roots() {
    let text = GOOD.replace("https_roots = \"cn-gd/publisher-roots.pem\"\n", "");
    let errors = parse(&text).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].message.contains("trust.CN-GD.https_roots"), "{errors:?}");
    assert!(errors[0].line.is_some());
    let cfg = parse(GOOD).unwrap();
    let cn = cfg.trust.iter().find(|t| t.domain == TrustDomainId::CnGd).unwrap();
    assert_eq!(cn.https_roots.as_deref(), Some(Path::new("/etc/hq/cn-gd/publisher-roots.pem")));
}
