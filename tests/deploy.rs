//! deploy/: the Kubernetes manifests are well-formed, and the exact command lines their pods
//! run work: the agents' Indexed Job and the merge step, run here as local processes.

mod common;
use common::*;
use std::process::Command;

/// The manifest as JSON, through python3's YAML parser (no cluster is needed).
fn manifest(name: &str) -> Option<serde_json::Value> {
    let path = format!("{}/deploy/kubernetes/{name}", env!("CARGO_MANIFEST_DIR"));
    let o = Command::new("python3")
        .args([
            "-c",
            "import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
            &path,
        ])
        .output()
        .ok()?;
    if !o.status.success() {
        let why = String::from_utf8_lossy(&o.stderr);
        assert!(
            !why.contains("yaml.") || why.contains("No module"),
            "{name}: {why}"
        );
        println!("SKIPPED: python3 with yaml is needed to read {name}: {why}");
        return None;
    }
    Some(serde_json::from_slice(&o.stdout).expect("JSON from python"))
}

/// Runs a pod's `sh -c` line here: `dbarena` from this build, `/results` a scratch folder,
/// and the workload scaled down (the only substitutions).
fn run_pod_line(line: &str, dir: &std::path::Path, env: &[(&str, String)]) -> std::process::Output {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_dbarena"));
    let line = line
        .replace(
            "--pattern tpcb-like -n 64 --tps 20000 -d 5m",
            "--pattern read_heavy -n 4 --tps 200 -d 2s --quiet",
        )
        .replace("/results", &dir.display().to_string());
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = Command::new("sh");
    c.args(["-c", &line]).env("PATH", path).current_dir(dir);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("sh")
}

#[test]
fn the_indexed_job_and_the_merge_step_run_as_written() {
    let (Some(agents), Some(merge), Some(pvc)) = (
        manifest("agents-job.yaml"),
        manifest("merge-job.yaml"),
        manifest("results-volume.yaml"),
    ) else {
        return;
    };
    assert_eq!(pvc["kind"], "PersistentVolumeClaim");
    assert_eq!(agents["kind"], "Job");
    let spec = &agents["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    assert_eq!(spec["completions"], spec["parallelism"]);
    let c = &spec["template"]["spec"]["containers"][0];
    let env: Vec<&serde_json::Value> = c["env"].as_array().unwrap().iter().collect();
    let segments = env.iter().find(|e| e["name"] == "SEGMENTS").unwrap()["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        segments,
        spec["completions"].to_string(),
        "SEGMENTS = completions"
    );
    // The database URL comes from a secret, never from the command line.
    let db = env.iter().find(|e| e["name"] == "DBARENA_DB").unwrap();
    assert!(db["valueFrom"]["secretKeyRef"].is_object());
    let agent_line = c["args"][0].as_str().unwrap().to_string();
    let merge_line = merge["spec"]["template"]["spec"]["containers"][0]["args"][0]
        .as_str()
        .unwrap()
        .to_string();

    let Some(sqlite) = TestDb::new(Db::Sqlite, "deploy") else {
        return;
    };
    let dir = Scratch::new("deploy");
    // The schema exists before the agents start (in a cluster: `seed`, or pgbench -i for
    // tpcb-like): agents that all created it at once would race.
    let setup = dir.path().join("setup.json");
    let o = dbarena(
        &[
            "workload",
            "run",
            "--db",
            &sqlite.url,
            "--pattern",
            "read_heavy",
            "-d",
            "500ms",
            "-q",
            "--out",
            setup.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::remove_file(&setup).unwrap();
    // A common start a few seconds ahead, as START_AT is set before `kubectl apply`.
    let start_at = dbarena::util::time::rfc3339_us(dbarena::util::time::now_us() + 4_000_000);
    let n: usize = segments.parse().unwrap();
    let pods: Vec<_> = (0..n)
        .map(|i| {
            let env = vec![
                ("JOB_COMPLETION_INDEX", i.to_string()),
                ("SEGMENTS", segments.clone()),
                ("START_AT", start_at.clone()),
                ("DBARENA_DB", sqlite.url.clone()),
            ];
            let (line, dir) = (agent_line.clone(), dir.path().to_path_buf());
            std::thread::spawn(move || run_pod_line(&line, &dir, &env))
        })
        .collect();
    for p in pods {
        let o = p.join().unwrap();
        assert!(o.status.success(), "agent: {}", stderr(&o));
    }
    let o = run_pod_line(&merge_line, dir.path(), &[]);
    assert!(o.status.success(), "merge: {}", stderr(&o));
    let m = read_json(&dir.path().join("merged.json"));
    assert_eq!(m["merged"]["agents"].as_array().unwrap().len(), n);
    assert!(m["merged"].get("missing_segments").is_none());
    for a in m["merged"]["agents"].as_array().unwrap() {
        assert!(a["start_skew_ms"].as_f64().unwrap().abs() < 10.0, "{a}");
    }
}
