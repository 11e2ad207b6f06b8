//! Hosts in network namespaces and faults on their links, end to end: an instance in its own
//! namespace, packet loss and a partition between client and server in a chaos run, and
//! nothing left behind (namespaces, links, qdiscs, rules), also after a panic.
//!
//! Needs root, iproute2 (`ip`, `tc`) and nftables (`nft`); skipped with a message otherwise
//! (and failed when DBARENA_REQUIRE_SERVERS=1, as in CI, which installs them).

mod common;
use common::*;
use dbarena::net::{FilterRules, HostFaults, LinkFaults, NetHost, Shaping};
use std::process::Command;

/// Whether namespaces and link faults can be made here; prints SKIPPED when not.
fn can_make_hosts() -> bool {
    let root = std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false);
    let tools = ["ip", "tc", "nft"].iter().all(|t| {
        Command::new("sh")
            .args(["-c", &format!("command -v {t} || test -x /usr/sbin/{t}")])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if root && tools {
        return true;
    }
    let why = if root {
        "ip, tc or nft missing (apt-get install iproute2 nftables)"
    } else {
        "not root"
    };
    if require_servers() {
        panic!("network namespaces are required (DBARENA_REQUIRE_SERVERS=1) but {why}");
    }
    println!("SKIPPED: network namespaces need root, iproute2 and nftables: {why}");
    false
}

fn sh(cmd: &str) -> String {
    let o = Command::new("sh").args(["-c", cmd]).output().expect("sh");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Namespace `dbarena-NAME` exists.
fn namespace_exists(name: &str) -> bool {
    sh("ip netns list")
        .lines()
        .any(|l| l.split_whitespace().next() == Some(&format!("dbarena-{name}")))
}

/// Takes down the instances and removes their namespaces however the test ends, a panic
/// included, so no test leaves a namespace, link or qdisc behind.
struct Cleanup<'a> {
    home: &'a Scratch,
    names: Vec<String>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for n in &self.names {
            let _ = dbarena(&["instance", "down", n], self.home.path());
            let ns = format!("dbarena-{n}");
            if namespace_exists(n) {
                sh(&format!(
                    "for p in $(ip netns pids {ns}); do kill -9 $p; done; ip netns del {ns}"
                ));
            }
        }
    }
}

/// The machine-side link of an instance, from its meta.json.
fn link_of(home: &Scratch, name: &str) -> String {
    let meta = read_json(&home.path().join("instances").join(name).join("meta.json"));
    meta["net"]["link"].as_str().expect("net.link").to_string()
}

#[test]
fn a_postgres_instance_in_a_namespace_is_reachable_and_down_leaves_nothing() {
    up_in_a_namespace_and_down("postgres", "initdb", 5432);
}

#[test]
fn a_mariadb_instance_in_a_namespace_is_reachable_and_down_leaves_nothing() {
    up_in_a_namespace_and_down("mariadb", "mariadb-install-db", 3306);
}

fn up_in_a_namespace_and_down(kind: &str, binary: &str, port: u16) {
    if !can_make_hosts() || !have(binary) {
        return;
    }
    let home = Scratch::new("netns-up");
    let name = format!("nsup{kind}{}", std::process::id());
    let _cleanup = Cleanup {
        home: &home,
        names: vec![name.clone()],
    };
    let o = dbarena(
        &["instance", "up", kind, "--name", &name, "--netns", "--fast"],
        home.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let url = String::from_utf8_lossy(&o.stdout).trim().to_string();
    assert!(
        url.contains("@10.77.") && url.ends_with(&format!(":{port}/dbarena")),
        "{url}"
    );
    assert!(namespace_exists(&name));
    let link = link_of(&home, &name);
    // The server answers on the namespace's address, from the machine, over the veth pair.
    let o = dbarena(
        &[
            "workload",
            "run",
            "--db",
            &format!("instance:{name}"),
            "--config",
            home.select_config().to_str().unwrap(),
            "-d",
            "1s",
            "--tps",
            "50",
            "-o",
            home.file("r.json").to_str().unwrap(),
        ],
        home.path(),
    );
    let r = ok_result(&o, &home.file("r.json"));
    assert!(r["totals"]["committed"].as_u64().unwrap() > 0, "{r}");
    assert!(
        unexpected_errors(&r).is_empty(),
        "{:?}",
        unexpected_errors(&r)
    );
    let o = dbarena(&["instance", "list", "--json"], home.path());
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(list[0]["netns"], format!("dbarena-{name}"), "{list}");

    let o = dbarena(&["instance", "down", &name], home.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!namespace_exists(&name), "{}", sh("ip netns list"));
    assert!(
        !sh("ip -o link show").contains(&format!("{link}:")),
        "{}",
        sh("ip -o link show")
    );
    assert!(!std::path::Path::new(&format!("/run/dbarena/dbarena-{name}.owner")).exists());
}

/// A bare namespace host made by the library (no server), removed on drop.
struct BareHost {
    host: NetHost,
    _owner: Scratch,
}

impl BareHost {
    fn new(tag: &str) -> BareHost {
        let owner = Scratch::new(tag);
        let name = format!("{tag}{}", std::process::id());
        let host = NetHost::create(&name, owner.path()).expect("create a namespace host");
        BareHost {
            host,
            _owner: owner,
        }
    }
}

impl Drop for BareHost {
    fn drop(&mut self) {
        let _ = self.host.remove();
    }
}

/// Removing a host whose link is already gone leaves alone a new link that took its name
/// (another host made in between: tests and instances are made and removed side by side).
#[test]
fn removing_a_host_leaves_a_link_that_took_its_name_alone() {
    if !can_make_hosts() {
        return;
    }
    let bare = BareHost::new("nsreuse");
    let link = bare.host.link.clone();
    sh(&format!("ip netns del {}", bare.host.ns));
    let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while sh(&format!("ip -o link show {link} 2>/dev/null")).contains(&link)
        && std::time::Instant::now() < until
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Another host's link of the same name, as a new host's is (its alias names its own
    // namespace).
    let taken = sh(&format!(
        "ip link add {link} type veth peer name {link}x && ip link set {link} alias dbarena-other && echo made"
    ));
    assert!(taken.contains("made"), "could not take the name {link}");
    let removed = bare.host.remove();
    let still = sh(&format!("ip -o link show {link} 2>/dev/null"));
    sh(&format!("ip link del {link} 2>/dev/null"));
    assert!(removed.is_ok(), "{removed:?}");
    assert!(still.contains(&link), "the other host's link was deleted");
}

#[test]
fn link_faults_are_applied_and_removed_even_after_a_panic() {
    if !can_make_hosts() {
        return;
    }
    let bare = BareHost::new("nsfault");
    let host = bare.host.clone();
    let faults = HostFaults {
        shaping_in: Shaping {
            rate_bps: 125_000,
            ..Default::default()
        },
        shaping_out: Shaping::default(),
        filter: FilterRules {
            loss_in_pct: 5.0,
            loss_out_pct: 0.0,
            cuts: vec![dbarena::net::Cut {
                way: dbarena::net::Way::Out,
                peers: vec![],
            }],
        },
    };
    let panicked = std::panic::catch_unwind(|| {
        let links = LinkFaults::new();
        links.set(&host, &faults).expect("rate limit and rules");
        let shown = dbarena::net::in_force(&host);
        assert!(
            shown.iter().any(|l| l.contains("tbf")) && shown.iter().any(|l| l.contains("nft")),
            "{shown:?}"
        );
        panic!("a test that fails with faults in force");
    });
    assert!(panicked.is_err());
    // The guard was dropped while unwinding: the link is clean.
    assert_eq!(dbarena::net::in_force(&host), Vec::<String>::new());

    // Delay needs netem: applied where the kernel has it, else one clear error.
    let links = LinkFaults::new();
    let delay = HostFaults {
        shaping_out: Shaping {
            delay_ms: 20.0,
            jitter_ms: 5.0,
            distribution: dbarena::net::Distribution::Normal,
            ..Default::default()
        },
        ..Default::default()
    };
    match links.set(&host, &delay) {
        Ok(()) => {
            let shown = dbarena::net::in_force(&host);
            assert!(shown.iter().any(|l| l.contains("netem")), "{shown:?}");
            println!("netem available: {shown:?}");
        }
        Err(e) => {
            assert!(e.to_string().contains("CONFIG_NET_SCH_NETEM"), "{e}");
            println!("netem unavailable on this kernel: {e}");
        }
    }
    drop(links);
    assert_eq!(dbarena::net::in_force(&host), Vec::<String>::new());
    let ns = host.ns.clone();
    drop(bare);
    assert!(!sh("ip netns list").contains(&ns));
}

#[test]
fn loss_slows_the_client_and_a_partition_is_an_outage_of_its_length() {
    if !can_make_hosts() || !have("initdb") {
        return;
    }
    let home = Scratch::new("netns-chaos");
    let name = format!("nschaos{}", std::process::id());
    let _cleanup = Cleanup {
        home: &home,
        names: vec![name.clone()],
    };
    let o = dbarena(
        &[
            "instance", "up", "postgres", "--name", &name, "--netns", "--fast",
        ],
        home.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let link = link_of(&home, &name);
    // A short timeout: a query stalled by the partition gives the connection up after 1 s,
    // and the outage runs from its start until a new connection gets through.
    let workload = home.file("w.toml");
    std::fs::write(
        &workload,
        "timeout = \"1s\"\n[[custom_queries]]\nname = \"one\"\nweight = 1\nsql = \"SELECT :k\"\n[custom_queries.params]\nk = { generator = \"random_int\", min = 1, max = 1000 }\n",
    )
    .unwrap();
    let partition_s = 7.0;
    let scenarios = home.file("s.toml");
    std::fs::write(
        &scenarios,
        format!(
            r#"
[[scenarios]]
name = "baseline"

[[scenarios]]
name = "loss5"
[[scenarios.faults]]
type = "loss"
percent = 5

[[scenarios]]
name = "cut"
[[scenarios.faults]]
type = "partition"
start = "1s"
duration = "{partition_s}s"
"#
        ),
    )
    .unwrap();
    let out = home.file("out");
    let o = dbarena(
        &[
            "chaos",
            "--db",
            &format!("instance:{name}"),
            "--scenarios",
            scenarios.to_str().unwrap(),
            "--from",
            workload.to_str().unwrap(),
            "-d",
            "12s",
            "--tps",
            "100",
            "-n",
            "4",
            "-o",
            out.to_str().unwrap(),
        ],
        home.path(),
    );
    // The faults are off the link as soon as the run ends, before `instance down`.
    let left = sh(&format!(
        "tc qdisc show dev {link}; ip netns exec dbarena-{name} nft list tables"
    ));
    assert!(
        !left.contains("netem") && !left.contains("tbf") && !left.contains("dbarena"),
        "{left}"
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = std::fs::read_to_string(out.join("chaos.csv")).unwrap();
    println!("{csv}");
    let rows: Vec<Vec<String>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    let row = |n: &str| rows.iter().find(|r| r[0] == n).expect(n).clone();
    let num = |r: &Vec<String>, i: usize| r[i].parse::<f64>().unwrap();
    let (base, loss, cut) = (row("baseline"), row("loss5"), row("cut"));
    // 5% of packets lost: TCP retransmits (200 ms at least each) show in the tail.
    let (p99_base, p99_loss) = (num(&base, 5), num(&loss, 5));
    println!("p99: baseline {p99_base:.1} ms, 5% loss {p99_loss:.1} ms");
    assert!(
        p99_loss > p99_base + 100.0,
        "p99 {p99_loss} ms under 5% loss vs {p99_base} ms: {csv}"
    );
    // And as retries: the server's host retransmitted what the link lost.
    let (re_base, re_loss) = (num(&base, 15), num(&loss, 15));
    println!("TCP retransmits of the server: baseline {re_base}, 5% loss {re_loss}");
    assert!(
        re_loss > re_base,
        "retransmits {re_loss} vs {re_base}: {csv}"
    );
    // The partition is an outage of about its length.
    let outage = num(&cut, 7);
    let cut_result = read_json(&out.join("cut.json"));
    println!(
        "outages of the cut scenario: {}",
        serde_json::to_string(&cut_result["outages"]).unwrap()
    );
    println!(
        "partition of {partition_s} s measured as an outage of {outage:.2} s ({:+.0}%)",
        (outage / partition_s - 1.0) * 100.0
    );
    // Not shorter than 90% of it; longer by at most 10% plus one connect try: the outage ends
    // at the first connect after the link is back, and a try whose SYN the partition dropped
    // waits for the kernel's retransmit 1 s later (its try bounded by the 1 s timeout), so with
    // every lane mid-try when the link returns the end reads up to ~1 s late (seen: +13%, +14%
    // in full-suite runs; +2..5% alone). Probing with fresh connects more often while down
    // would tighten this.
    assert!(
        outage >= partition_s * 0.9 && outage <= partition_s * 1.1 + 1.0,
        "outage {outage} s for a {partition_s} s partition: {csv}"
    );
    assert!(
        cut[14].is_empty() && loss[14].is_empty(),
        "fault errors: {csv}"
    );
}

#[test]
fn leftovers_are_listed_and_cleaned() {
    if !can_make_hosts() {
        return;
    }
    let home = Scratch::new("netns-left");
    // A namespace whose instance is gone, and a half-made pair (both ends on the machine).
    let ns = format!("dbarena-left{}", std::process::id());
    sh(&format!("ip netns add {ns}"));
    let link = "dbarena-249";
    sh(&format!("ip link add {link} type veth peer name {link}n"));
    // The resolver folder of a namespace someone deleted by hand.
    let resolver = format!("dbarena-gone{}", std::process::id());
    sh(&format!(
        "mkdir -p /etc/netns/{resolver} && touch /etc/netns/{resolver}/resolv.conf"
    ));
    // One being made by a running `instance up` (its meta.json not written yet) is no
    // leftover; once that process is gone without writing it, it is.
    let making = format!("dbarena-making{}", std::process::id());
    let mut creator = Command::new("sleep").arg("30").spawn().unwrap();
    sh(&format!("ip netns add {making}; mkdir -p /run/dbarena"));
    std::fs::write(
        format!("/run/dbarena/{making}.owner"),
        format!("{}\n{}\n", home.file("meta.json").display(), creator.id()),
    )
    .unwrap();
    let o = dbarena(&["instance", "list"], home.path());
    let while_made = stderr(&o);
    let _ = creator.kill();
    let _ = creator.wait();
    let o = dbarena(&["instance", "list"], home.path());
    let err = stderr(&o);
    let cleanup = || {
        sh(&format!(
            "ip netns del {ns} 2>/dev/null; ip netns del {making} 2>/dev/null; ip link del {link} 2>/dev/null; rm -f /run/dbarena/{making}.owner; rm -rf /etc/netns/{resolver}"
        ))
    };
    if !(err.contains(&ns)
        && err.contains(link)
        && err.contains(&making)
        && err.contains(&format!("resolver folder /etc/netns/{resolver}")))
        || while_made.contains(&making)
    {
        cleanup();
        panic!("leftovers not listed right: while made: {while_made}\nafter: {err}");
    }
    let o = dbarena(&["instance", "clean"], home.path());
    let cleaned = stderr(&o);
    let after = sh("ip netns list; ip -o link show");
    cleanup();
    assert!(o.status.success(), "{cleaned}");
    for n in [&ns, &making] {
        assert!(
            cleaned.contains(&format!("removed namespace {n}")),
            "{cleaned}"
        );
        assert!(!after.contains(n.as_str()), "{after}");
    }
    assert!(!after.contains(&format!("{link}:")), "{after}");
    assert!(
        cleaned.contains(&format!("removed resolver folder /etc/netns/{resolver}")),
        "{cleaned}"
    );
    assert!(!std::path::Path::new(&format!("/etc/netns/{resolver}")).exists());
}

#[test]
fn without_root_tools_the_error_is_one_line_with_the_fix() {
    let home = Scratch::new("netns-noip");
    let o = Command::new(env!("CARGO_BIN_EXE_dbarena"))
        .args(["instance", "up", "postgres", "--name", "noip", "--netns"])
        .env("DBARENA_HOME", home.path())
        .env("DBARENA_IP", "/nonexistent/ip")
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("ip not found at /nonexistent/ip; install iproute2")
            || err.contains("need root"),
        "{err}"
    );
    assert!(!home.path().join("instances").join("noip").exists());
}

/// Whether a TCP connection from inside namespace `from` (or the machine) reaches addr:port
/// within 3 s (generous: the machine may be busy; a partition never lets it through).
fn reaches(from: Option<&str>, addr: &str, port: u16) -> bool {
    let py = format!("import socket; socket.create_connection(('{addr}', {port}), timeout=3)");
    let mut c = match from {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, "python3", "-c", &py]);
            c
        }
        None => {
            let mut c = Command::new("python3");
            c.args(["-c", &py]);
            c
        }
    };
    c.output().is_ok_and(|o| o.status.success())
}

#[test]
fn hosts_talk_to_each_other_until_a_partition_splits_them() {
    if !can_make_hosts() || !have("python3") {
        return;
    }
    let (a, b) = (BareHost::new("nsa"), BareHost::new("nsb"));
    // A listener in b, answering both the machine and a.
    let listener = Command::new("ip")
        .args(["netns", "exec", &b.host.ns, "python3", "-c"])
        .arg(format!(
            "import socket,time\ns=socket.socket()\ns.bind(('{}', 7000))\ns.listen(64)\nwhile True:\n    c,_=s.accept()\n",
            b.host.addr
        ))
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _listener = Kill(listener);
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !reaches(None, &b.host.addr, 7000) && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        reaches(Some(&a.host.ns), &b.host.addr, 7000),
        "a cannot reach b"
    );
    // a is cut off from b (both ways), not from the machine.
    let links = LinkFaults::new();
    let split = HostFaults {
        filter: FilterRules {
            cuts: [dbarena::net::Way::In, dbarena::net::Way::Out]
                .into_iter()
                .map(|way| dbarena::net::Cut {
                    way,
                    peers: vec![b.host.addr.clone()],
                })
                .collect(),
            ..Default::default()
        },
        ..Default::default()
    };
    links.set(&a.host, &split).unwrap();
    assert!(
        !reaches(Some(&a.host.ns), &b.host.addr, 7000),
        "a reaches b through the partition"
    );
    assert!(reaches(None, &b.host.addr, 7000), "the machine lost b");
    // One way is enough to stop a connection: b's answers do not come back in to a.
    let one_way = HostFaults {
        filter: FilterRules {
            cuts: vec![dbarena::net::Cut {
                way: dbarena::net::Way::In,
                peers: vec![b.host.addr.clone()],
            }],
            ..Default::default()
        },
        ..Default::default()
    };
    links.set(&a.host, &one_way).unwrap();
    assert!(!reaches(Some(&a.host.ns), &b.host.addr, 7000));
    drop(links);
    assert!(reaches(Some(&a.host.ns), &b.host.addr, 7000), "not healed");
}

#[test]
fn a_second_signal_still_takes_the_faults_off_the_link() {
    if !can_make_hosts() || !have("initdb") {
        return;
    }
    let home = Scratch::new("netns-signal");
    let name = format!("nssig{}", std::process::id());
    let _cleanup = Cleanup {
        home: &home,
        names: vec![name.clone()],
    };
    let o = dbarena(
        &[
            "instance", "up", "postgres", "--name", &name, "--netns", "--fast",
        ],
        home.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let link = link_of(&home, &name);
    let scenarios = home.file("s.toml");
    std::fs::write(
        &scenarios,
        "[[scenarios]]\nname = \"slow-and-lossy\"\n[[scenarios.faults]]\ntype = \"rate\"\nbandwidth_bps = 100000\n[[scenarios.faults]]\ntype = \"loss\"\npercent = 10\n",
    )
    .unwrap();
    let mut child = spawn_dbarena(
        &[
            "chaos",
            "--db",
            &format!("instance:{name}"),
            "--scenarios",
            scenarios.to_str().unwrap(),
            "--config",
            home.select_config().to_str().unwrap(),
            "-d",
            "60s",
            "--tps",
            "20",
            "-o",
            home.file("out").to_str().unwrap(),
        ],
        home.path(),
    );
    let faults_on = || {
        let s = sh(&format!(
            "tc qdisc show dev {link}; ip netns exec dbarena-{name} nft list tables"
        ));
        s.contains("tbf") && s.contains("dbarena")
    };
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !faults_on() && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let on = faults_on();
    let pid = child.id().to_string();
    sh(&format!("kill -INT {pid}; sleep 0.2; kill -INT {pid}"));
    let status = child.wait().unwrap();
    assert!(on, "the faults never came on");
    assert_eq!(status.code(), Some(130));
    let left = sh(&format!(
        "tc qdisc show dev {link}; ip netns exec dbarena-{name} nft list tables"
    ));
    assert!(!left.contains("tbf") && !left.contains("dbarena"), "{left}");
}

/// The link-fault scenarios shown in the README are valid scenario files.
#[test]
fn the_readme_link_fault_scenarios_load() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let from = readme.find("### Hosts and link faults").expect("section");
    let start = readme[from..].find("```toml\n").expect("toml block") + from + 8;
    let end = readme[start..].find("```").unwrap() + start;
    let dir = Scratch::new("netns-readme");
    let path = dir.file("link-faults.toml");
    std::fs::write(&path, &readme[start..end]).unwrap();
    let scenarios = dbarena::chaos::scenario::load_scenarios(&path).unwrap();
    let kinds: Vec<&str> = scenarios
        .iter()
        .flat_map(|s| s.faults.iter().map(|f| f.kind.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            "loss",
            "delay",
            "rate",
            "partition",
            "partition",
            "partition"
        ]
    );
    // A cluster's member is named like any instance.
    assert_eq!(scenarios.last().unwrap().faults[0].hosts, ["galn-n2"]);
}

/// A link fault is refused before anything runs when its tool is missing or it has no host.
#[test]
fn link_faults_without_their_tool_or_a_host_are_refused_up_front() {
    let home = Scratch::new("netns-refuse");
    let scenarios = home.file("s.toml");
    std::fs::write(
        &scenarios,
        "[[scenarios]]\nname = \"lossy\"\n[[scenarios.faults]]\ntype = \"loss\"\npercent = 5\n",
    )
    .unwrap();
    let chaos = |nft: &str| {
        Command::new(env!("CARGO_BIN_EXE_dbarena"))
            .args([
                "chaos",
                "--db",
                "postgres://postgres@127.0.0.1:5432/test",
                "--scenarios",
                scenarios.to_str().unwrap(),
                "-d",
                "1s",
                "-o",
                home.file("out").to_str().unwrap(),
            ])
            .env("DBARENA_HOME", home.path())
            .env("DBARENA_NFT", nft)
            .output()
            .unwrap()
    };
    let o = chaos("/nonexistent/nft");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("nft not found at /nonexistent/nft; install nftables")
            || err.contains("need root"),
        "{err}"
    );
    if can_make_hosts() {
        let o = chaos("");
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("the loss fault needs a host"), "{err}");
    }
    assert!(!home.file("out").join("chaos.csv").exists());
}

/// Issue 16's many-machine run with the machines made real: two load agents, each a host of
/// its own (a namespace with its own address and link), drive a PostgreSQL instance on a third
/// host with list-append at serializable, start together on the wall clock, and their results
/// and histories merge into one run whose history checks valid across agents.
#[test]
fn agents_on_separate_hosts_merge_into_one_run_and_one_valid_history() {
    if !can_make_hosts() || !have("initdb") {
        return;
    }
    let home = Scratch::new("netns-agents");
    let server = format!("nsagsrv{}", std::process::id());
    let _cleanup = Cleanup {
        home: &home,
        names: vec![server.clone()],
    };
    let o = dbarena(
        &[
            "instance", "up", "postgres", "--name", &server, "--netns", "--fast",
        ],
        home.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // `instance up` prints the URL with its password hidden; the password is in its file.
    let shown = String::from_utf8_lossy(&o.stdout).trim().to_string();
    let pw = std::fs::read_to_string(home.path().join("instances").join(&server).join("password"))
        .unwrap();
    let url = shown.replace("***", pw.trim());
    let agents = [BareHost::new("nsag1"), BareHost::new("nsag2")];
    let start = dbarena::util::time::rfc3339_us(dbarena::util::time::now_us() + 4_000_000);
    let runs: Vec<(std::process::Child, std::path::PathBuf)> = agents
        .iter()
        .enumerate()
        .map(|(i, agent)| {
            let out = home.new_file(&format!("agent{}", i + 1), "json");
            let seg = format!("{}/2", i + 1);
            let child = Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &agent.host.ns,
                    env!("CARGO_BIN_EXE_dbarena"),
                ])
                .args([
                    "workload",
                    "run",
                    "--db",
                    &format!("instance:{server}"),
                    "--pattern",
                    "list-append",
                    "--isolation",
                    "serializable",
                    "--tps",
                    "300",
                    "-n",
                    "6",
                    "-d",
                    "3s",
                    "--segment",
                    &seg,
                    "--start-at",
                    &start,
                    "--quiet",
                    "--no-server-stats",
                    "--out",
                    out.to_str().unwrap(),
                ])
                .current_dir(home.path())
                .env("DBARENA_HOME", home.path())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("start an agent in its namespace");
            (child, out)
        })
        .collect();
    // The server sees each agent's connections come from that agent's own address.
    let wanted: Vec<String> = agents.iter().map(|a| a.host.addr.clone()).collect();
    let mut seen = std::collections::BTreeSet::new();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
    // (The test's own query comes from the machine's address, which is not an agent's.)
    while !wanted.iter().all(|a| seen.contains(a)) && std::time::Instant::now() < until {
        for row in query_url(
            &url,
            "SELECT DISTINCT host(client_addr) FROM pg_stat_activity WHERE application_name = 'dbarena' AND client_addr IS NOT NULL",
        ) {
            seen.extend(row.into_iter().flatten());
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let mut outs = Vec::new();
    for (child, out) in runs {
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "agent: {}", stderr(&o));
        outs.push(out);
    }
    for (i, out) in outs.iter().enumerate() {
        let a = read_json(out);
        assert_eq!(a["agent"]["segment"]["index"], i, "{a}");
        let skew = a["agent"]["start_skew_ms"].as_f64().unwrap();
        assert!(skew.abs() < 10.0, "start skew {skew} ms");
        assert!(a["totals"]["committed"].as_u64().unwrap() > 0, "{a}");
    }
    let merged = home.new_file("merged", "json");
    let mut args = vec!["merge", "-o", merged.to_str().unwrap()];
    let names: Vec<String> = outs.iter().map(|p| p.display().to_string()).collect();
    args.extend(names.iter().map(String::as_str));
    let o = dbarena(&args, home.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let m = read_json(&merged);
    assert_eq!(m["merged"]["agents"].as_array().unwrap().len(), 2, "{m}");
    assert_eq!(m["schedule"]["target_tps"], 300.0);
    let t = &m["totals"];
    let s = &m["schedule"];
    let scheduled = ["committed", "failed"]
        .iter()
        .map(|k| t[k].as_u64().unwrap())
        .chain(
            ["missed", "in_flight"]
                .iter()
                .map(|k| s[k].as_u64().unwrap()),
        )
        .sum::<u64>() as f64;
    // Poisson arrivals at 300 tps for 3 s: 900 ± a few standard deviations (√900 = 30).
    assert!((scheduled - 900.0).abs() < 150.0, "{scheduled}: {m}");
    let v = &m["verification"];
    assert_eq!(v["verdict"], "pass", "{v}");
    assert_eq!(v["model"], "serializable");
    for addr in &wanted {
        assert!(
            seen.contains(addr),
            "no connection from agent {addr}: {seen:?}"
        );
    }
}
