//! `deploy/k8s/`: the manifests parse, agree with each other, with
//! `deploy/bridge.toml` and with the shipped policies and mappings; their
//! volumes, laid out as the kubelet lays them out, pass `check`.

use super::{ETC, STATE, bridge, dev_pki, read, repo, rooted, text};
use hengqin_bridge::config::Config;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use yaml_rust2::{Yaml, YamlLoader};

const DIR: &str = "deploy/k8s";
/// Set to rewrite the generated ConfigMaps from the files.
const BLESS: &str = "HENGQIN_BLESS";

/// Every resource of the kustomization, with the file it is in.
fn resources() -> Vec<(String, Yaml)> {
    let kustomization = load(&read(&format!("{DIR}/kustomization.yaml")));
    let files = strings(&kustomization[0]["resources"]);
    let mut on_disk: Vec<String> = std::fs::read_dir(repo(DIR))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".yaml") && n != "kustomization.yaml")
        .collect();
    on_disk.sort();
    let mut listed = files.clone();
    listed.sort();
    assert_eq!(listed, on_disk, "kustomization.yaml lists every manifest and only those");
    files.iter().flat_map(|f| load(&read(&format!("{DIR}/{f}"))).into_iter().map(move |y| (f.clone(), y))).collect()
}

fn load(text: &str) -> Vec<Yaml> {
    YamlLoader::load_from_str(text).unwrap_or_else(|e| panic!("YAML: {e}"))
}

fn find<'a>(all: &'a [(String, Yaml)], kind: &str, name: &str) -> &'a Yaml {
    all.iter()
        .map(|(_, y)| y)
        .find(|y| y["kind"].as_str() == Some(kind) && y["metadata"]["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

fn s(y: &Yaml) -> &str {
    y.as_str().unwrap_or_else(|| panic!("not a string: {y:?}"))
}

fn strings(y: &Yaml) -> Vec<String> {
    y.as_vec().unwrap_or_else(|| panic!("not a list: {y:?}")).iter().map(|v| s(v).to_owned()).collect()
}

fn map(y: &Yaml) -> BTreeMap<String, String> {
    let hash = y.as_hash().unwrap_or_else(|| panic!("not a mapping: {y:?}"));
    hash.iter().map(|(k, v)| (s(k).to_owned(), s(v).to_owned())).collect()
}

fn list(y: &Yaml) -> &[Yaml] {
    y.as_vec().unwrap_or_else(|| panic!("not a list: {y:?}"))
}

/// The port of `key = "addr:port"` in a bridge.toml.
fn port_in(config: &str, key: &str) -> i64 {
    let value = config.lines().find_map(|l| l.strip_prefix(&format!("{key} = "))).unwrap();
    value.trim_matches('"').rsplit(':').next().unwrap().parse().unwrap()
}

fn bridge_toml(all: &[(String, Yaml)]) -> String {
    s(&find(all, "ConfigMap", "hengqin-bridge-config")["data"]["bridge.toml"]).to_owned()
}

#[test]
fn every_resource_is_there_once_with_its_kind() {
    let all = resources();
    let mut kinds: Vec<(String, String)> =
        all.iter().map(|(_, y)| (s(&y["kind"]).to_owned(), s(&y["metadata"]["name"]).to_owned())).collect();
    kinds.sort();
    let expected = [
        ("ConfigMap", "hengqin-bridge-config"),
        ("ConfigMap", "hengqin-bridge-mapping-codes"),
        ("ConfigMap", "hengqin-bridge-mappings"),
        ("ConfigMap", "hengqin-bridge-pki"),
        ("ConfigMap", "hengqin-bridge-policies"),
        ("NetworkPolicy", "hengqin-bridge"),
        ("PodDisruptionBudget", "hengqin-bridge"),
        ("Secret", "hengqin-bridge-keys"),
        ("Service", "hengqin-bridge"),
        ("Service", "hengqin-bridge-nodes"),
        ("StatefulSet", "hengqin-bridge"),
    ];
    assert_eq!(kinds, expected.map(|(k, n)| (k.to_owned(), n.to_owned())));
    for (file, y) in &all {
        assert!(y["apiVersion"].as_str().is_some(), "{file}: apiVersion");
    }
}

#[test]
fn the_statefulset_runs_two_hardened_replicas_probed_on_the_admin_port() {
    let all = resources();
    let sts = find(&all, "StatefulSet", "hengqin-bridge");
    let spec = &sts["spec"];
    assert_eq!(spec["replicas"].as_i64(), Some(2));
    let pod_labels = map(&spec["template"]["metadata"]["labels"]);
    let selector = map(&spec["selector"]["matchLabels"]);
    assert!(selector.iter().all(|(k, v)| pod_labels.get(k) == Some(v)), "the selector selects the pods");

    let pod = &spec["template"]["spec"];
    let anti = &pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0];
    assert_eq!(s(&anti["topologyKey"]), "kubernetes.io/hostname");
    assert_eq!(map(&anti["labelSelector"]["matchLabels"]), selector, "no two replicas on one machine");
    assert_eq!(pod["automountServiceAccountToken"].as_bool(), Some(false));
    let pod_security = &pod["securityContext"];
    assert_eq!(pod_security["runAsNonRoot"].as_bool(), Some(true));
    assert!(pod_security["runAsUser"].as_i64().is_some_and(|u| u >= 1000));
    assert_eq!(pod_security["fsGroup"], pod_security["runAsGroup"], "the store volume is the node's");

    let containers = list(&pod["containers"]);
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    let security = &c["securityContext"];
    assert_eq!(security["readOnlyRootFilesystem"].as_bool(), Some(true));
    assert_eq!(security["allowPrivilegeEscalation"].as_bool(), Some(false));
    assert_eq!(strings(&security["capabilities"]["drop"]), ["ALL"]);
    assert!(security["capabilities"]["add"].is_badvalue());

    // Ports: those of deploy/bridge.toml and of the ConfigMap's bridge.toml.
    let ports: BTreeMap<String, i64> =
        list(&c["ports"]).iter().map(|p| (s(&p["name"]).to_owned(), p["containerPort"].as_i64().unwrap())).collect();
    for config in [read("deploy/bridge.toml"), bridge_toml(&all)] {
        assert_eq!(ports["grpc"], port_in(&config, "listen"));
        assert_eq!(ports["admin"], port_in(&config, "admin_listen"));
    }
    for (probe, path) in [("startupProbe", "/healthz"), ("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
        let get = &c[probe]["httpGet"];
        assert_eq!(s(&get["path"]), path, "{probe}");
        assert_eq!(s(&get["port"]), "admin", "{probe}");
    }

    // Resources: requested and bounded.
    let res = &c["resources"];
    for (what, unit) in [("cpu", ""), ("memory", "Mi")] {
        let amount = |y: &Yaml| -> f64 {
            let v = s(y);
            match v.strip_suffix('m') {
                Some(milli) if unit.is_empty() => milli.parse::<f64>().unwrap() / 1000.0,
                _ => v.trim_end_matches(unit).parse().unwrap(),
            }
        };
        let (request, limit) = (amount(&res["requests"][what]), amount(&res["limits"][what]));
        assert!(request > 0.0 && request <= limit, "{what}: request {request}, limit {limit}");
    }

    // The config it is told to read is the one mounted.
    let args = strings(&c["args"]);
    assert_eq!(args, ["serve", "--config", &format!("{ETC}/bridge.toml")]);
    let mounts: BTreeMap<String, &Yaml> =
        list(&c["volumeMounts"]).iter().map(|m| (s(&m["name"]).to_owned(), m)).collect();
    assert_eq!(s(&mounts["config"]["mountPath"]), args[2]);
    // The store is the claim template's volume.
    let claim = &list(&spec["volumeClaimTemplates"])[0];
    assert_eq!(s(&claim["metadata"]["name"]), "state");
    assert_eq!(s(&mounts["state"]["mountPath"]), STATE);
    assert_eq!(strings(&claim["spec"]["accessModes"]), ["ReadWriteOnce"]);
    for (name, m) in &mounts {
        assert_eq!(m["readOnly"].as_bool() == Some(true), name != "state", "{name}: only the store is writable");
    }
}

#[test]
fn services_disruption_budget_and_network_policy_select_the_pods() {
    let all = resources();
    let sts = find(&all, "StatefulSet", "hengqin-bridge");
    let pod_labels = map(&sts["spec"]["template"]["metadata"]["labels"]);
    let selects = |selector: &Yaml| {
        let selector = map(selector);
        !selector.is_empty() && selector.iter().all(|(k, v)| pod_labels.get(k) == Some(v))
    };
    let container_ports: Vec<String> = list(&sts["spec"]["template"]["spec"]["containers"][0]["ports"])
        .iter()
        .map(|p| s(&p["name"]).to_owned())
        .collect();

    for name in ["hengqin-bridge", "hengqin-bridge-nodes"] {
        let svc = find(&all, "Service", name);
        assert!(selects(&svc["spec"]["selector"]), "{name} selects the pods");
        for p in list(&svc["spec"]["ports"]) {
            assert!(container_ports.contains(&s(&p["targetPort"]).to_owned()), "{name}: {p:?}");
        }
    }
    assert_eq!(s(&find(&all, "Service", "hengqin-bridge")["spec"]["type"]), "LoadBalancer");
    let nodes = find(&all, "Service", "hengqin-bridge-nodes");
    assert_eq!(s(&nodes["spec"]["clusterIP"]), "None");
    assert_eq!(s(&sts["spec"]["serviceName"]), "hengqin-bridge-nodes", "the governing service is headless");

    let pdb = find(&all, "PodDisruptionBudget", "hengqin-bridge");
    assert!(selects(&pdb["spec"]["selector"]["matchLabels"]), "the budget covers the pods");
    let min = pdb["spec"]["minAvailable"].as_i64().unwrap();
    assert!(min >= 1 && min < sts["spec"]["replicas"].as_i64().unwrap(), "one node may go, one stays");

    let policy = find(&all, "NetworkPolicy", "hengqin-bridge");
    assert!(selects(&policy["spec"]["podSelector"]["matchLabels"]));
    let open: Vec<i64> = list(&policy["spec"]["ingress"])
        .iter()
        .flat_map(|rule| list(&rule["ports"]).iter().map(|p| p["port"].as_i64().unwrap()))
        .collect();
    assert_eq!(open, [8443, 9090]);
}

#[test]
fn the_configmap_config_is_the_example_with_the_admin_listener_on_the_pod_address() {
    let all = resources();
    let path = Path::new(ETC).join("bridge.toml");
    let parse = |text: &str| Config::parse(&path, text, |_| None).unwrap_or_else(|e| panic!("{e:?}"));
    let in_pod = parse(&bridge_toml(&all));
    let example =
        read("deploy/bridge.toml").replace("admin_listen = \"127.0.0.1:9090\"", "admin_listen = \"0.0.0.0:9090\"");
    assert_eq!(format!("{:?}", parse(&example)), format!("{in_pod:?}"));
}

/// Every file of the volume: its path inside the mount and its bytes. The
/// pki volume's placeholders are filled from `pki`, a `dev pki` directory,
/// the way deploy/README.md tells an operator to fill them.
fn volume_files(all: &[(String, Yaml)], volume: &Yaml, pki: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let sources: Vec<&Yaml> = if volume["projected"].is_badvalue() {
        vec![volume]
    } else {
        list(&volume["projected"]["sources"]).iter().collect()
    };
    for source in sources {
        let (kind, spec) = if source["configMap"].is_badvalue() {
            ("Secret", &source["secret"])
        } else {
            ("ConfigMap", &source["configMap"])
        };
        let name = spec["name"].as_str().or(spec["secretName"].as_str()).unwrap();
        let object = find(all, kind, name);
        let data = map(if kind == "Secret" { &object["stringData"] } else { &object["data"] });
        let filled = name == "hengqin-bridge-pki" || name == "hengqin-bridge-keys";
        match spec["items"].as_vec() {
            None => files.extend(data.into_iter().map(|(k, v)| (k, v.into_bytes()))),
            Some(items) => {
                for item in items {
                    let (key, path) = (s(&item["key"]), s(&item["path"]));
                    assert!(data.contains_key(key), "{name} has no key {key}");
                    let bytes = if filled {
                        std::fs::read(pki.join(path)).unwrap_or_else(|e| panic!("{path} is not in a dev pki: {e}"))
                    } else {
                        data[key].clone().into_bytes()
                    };
                    files.insert(path.to_owned(), bytes);
                }
            }
        }
    }
    files
}

/// Writes `files` under `dir` as the kubelet writes a ConfigMap, Secret
/// or projected volume: the files in a versioned directory, `..data`
/// linking to it, and each top-level entry a link through `..data`.
fn lay_out_like_the_kubelet(dir: &Path, files: &BTreeMap<String, Vec<u8>>) {
    let version = "..2026_01_01_00_00_00.000000001";
    let mut tops = std::collections::BTreeSet::new();
    for (path, bytes) in files {
        let file = dir.join(version).join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, bytes).unwrap();
        tops.insert(path.split('/').next().unwrap().to_owned());
    }
    std::os::unix::fs::symlink(version, dir.join("..data")).unwrap();
    for top in tops {
        std::os::unix::fs::symlink(Path::new("..data").join(&top), dir.join(&top)).unwrap();
    }
}

#[test]
fn the_pod_volumes_laid_out_as_the_kubelet_does_pass_check() {
    let all = resources();
    let tmp = tempfile::tempdir().unwrap();
    let pki = tmp.path().join("dev-pki");
    dev_pki(&pki);
    let root = tmp.path().join("pod");
    let under_root = |mount: &str| root.join(mount.trim_start_matches('/'));

    let pod = &find(&all, "StatefulSet", "hengqin-bridge")["spec"]["template"]["spec"];
    let volumes: BTreeMap<String, &Yaml> =
        list(&pod["volumes"]).iter().map(|v| (s(&v["name"]).to_owned(), v)).collect();
    for mount in list(&pod["containers"][0]["volumeMounts"]) {
        let name = s(&mount["name"]);
        let at = under_root(s(&mount["mountPath"]));
        let Some(volume) = volumes.get(name) else {
            assert_eq!(name, "state", "only the claim template's volume is not in `volumes`");
            std::fs::create_dir_all(&at).unwrap();
            continue;
        };
        let files = volume_files(&all, volume, &pki);
        match mount["subPath"].as_str() {
            Some(sub) => {
                std::fs::create_dir_all(at.parent().unwrap()).unwrap();
                let config = String::from_utf8(files[sub].clone()).unwrap();
                std::fs::write(&at, rooted(&config, &root, &pki)).unwrap();
            }
            None => {
                std::fs::create_dir_all(&at).unwrap();
                lay_out_like_the_kubelet(&at, &files);
            }
        }
    }
    let config = under_root(&format!("{ETC}/bridge.toml"));
    let out = bridge(&["check", "--config", config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
}

#[test]
fn secret_and_pki_hold_placeholders_only() {
    let all = resources();
    let secret = find(&all, "Secret", "hengqin-bridge-keys");
    assert!(secret["data"].is_badvalue(), "no encoded values either");
    let pki = find(&all, "ConfigMap", "hengqin-bridge-pki");
    for (key, value) in map(&secret["stringData"]).into_iter().chain(map(&pki["data"])) {
        assert!(value.starts_with("REPLACE: "), "{key} is not a placeholder");
    }
    for entry in std::fs::read_dir(repo(DIR)).unwrap() {
        let path = entry.unwrap().path();
        let body = std::fs::read_to_string(&path).unwrap();
        assert!(!body.contains("-----BEGIN"), "{}: PEM material in the manifests", path.display());
    }
}

// ---- the ConfigMaps of the shipped policies and mappings ----

/// The `.toml` files directly in `dir`, by name.
fn toml_files(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
        .map(|p| (p.file_name().unwrap().to_str().unwrap().to_owned(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    files.sort();
    files
}

/// A ConfigMap holding `files`, each as a literal block.
fn config_map(name: &str, files: &[(String, String)]) -> String {
    let mut out = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  labels:\n    app.kubernetes.io/name: hengqin-bridge\ndata:\n"
    );
    for (key, body) in files {
        let indent = if body.starts_with(' ') { "2" } else { "" };
        let chomp = match body.strip_suffix('\n') {
            None => "-",
            Some(rest) if rest.ends_with('\n') || rest.is_empty() => "+",
            Some(_) => "",
        };
        out.push_str(&format!("  {key}: |{indent}{chomp}\n"));
        for line in body.lines() {
            if line.is_empty() {
                out.push('\n');
            } else {
                out.push_str(&format!("    {line}\n"));
            }
        }
    }
    out
}

const GENERATED: &str = "# Generated from the repository's files; tests/deploy/k8s.rs checks that it\n\
                         # still equals them (regenerate: HENGQIN_BLESS=1 cargo test --test it deploy::).\n";

/// What policies.yaml and mappings.yaml must hold.
fn generated() -> Vec<(PathBuf, String)> {
    let policies = format!(
        "{GENERATED}# The policy files (policies/*.toml), mounted at {ETC}/policies.\n{}",
        config_map("hengqin-bridge-policies", &toml_files(&repo("policies")))
    );
    let mappings = format!(
        "{GENERATED}# The mapping files (mappings/*.toml) and their code tables (mappings/codes/*.toml),\n\
         # projected together at {ETC}/mappings (statefulset.yaml lists each code table).\n{}---\n{}",
        config_map("hengqin-bridge-mappings", &toml_files(&repo("mappings"))),
        config_map("hengqin-bridge-mapping-codes", &toml_files(&repo("mappings/codes")))
    );
    vec![(repo(&format!("{DIR}/policies.yaml")), policies), (repo(&format!("{DIR}/mappings.yaml")), mappings)]
}

#[test]
fn the_policy_and_mapping_configmaps_hold_the_shipped_files() {
    if std::env::var_os(BLESS).is_some() {
        for (path, body) in generated() {
            std::fs::write(path, body).unwrap();
        }
    }
    let all = resources();
    let stale = format!("stale: regenerate with {BLESS}=1 cargo test --test it deploy::");
    // Parsed back, each ConfigMap holds exactly the files, byte for byte.
    for (name, dir) in [
        ("hengqin-bridge-policies", "policies"),
        ("hengqin-bridge-mappings", "mappings"),
        ("hengqin-bridge-mapping-codes", "mappings/codes"),
    ] {
        let data: Vec<(String, String)> = map(&find(&all, "ConfigMap", name)["data"]).into_iter().collect();
        assert_eq!(data, toml_files(&repo(dir)), "{name} ≠ {dir}/*.toml: {stale}");
    }
    for (path, body) in generated() {
        assert_eq!(std::fs::read_to_string(&path).unwrap(), body, "{}: {stale}", path.display());
    }
    // Every code table reaches codes/ in the pod (a projected item each).
    let sts = find(&all, "StatefulSet", "hengqin-bridge");
    let mappings =
        list(&sts["spec"]["template"]["spec"]["volumes"]).iter().find(|v| s(&v["name"]) == "mappings").unwrap();
    let codes = list(&mappings["projected"]["sources"])
        .iter()
        .find(|src| src["configMap"]["name"].as_str() == Some("hengqin-bridge-mapping-codes"))
        .unwrap();
    let items: Vec<(String, String)> = list(&codes["configMap"]["items"])
        .iter()
        .map(|i| (s(&i["key"]).to_owned(), s(&i["path"]).to_owned()))
        .collect();
    let expected: Vec<(String, String)> =
        toml_files(&repo("mappings/codes")).into_iter().map(|(k, _)| (k.clone(), format!("codes/{k}"))).collect();
    assert_eq!(items, expected, "statefulset.yaml: one item per code table");
}
