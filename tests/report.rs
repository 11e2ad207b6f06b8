//! `dbarena report` over a run and a sweep folder.

mod common;
use common::*;

#[test]
fn report_writes_svg_charts_and_a_self_contained_html_page() {
    let dir = Scratch::new("report");
    let out = dir.file("runs");
    for (name, tps) in [("a", "100"), ("b", "200")] {
        let f = out.join(format!("{name}.json"));
        let o = dbarena(
            &[
                "workload",
                "run",
                "--db",
                "sqlite::memory:",
                "--tps",
                tps,
                "-d",
                "2s",
                "-q",
                "--out",
                f.to_str().unwrap(),
            ],
            dir.path(),
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let charts = dir.file("charts");
    let o = dbarena(
        &[
            "report",
            out.to_str().unwrap(),
            "--svg",
            "--html",
            "-o",
            charts.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for f in [
        "latency-by-config.svg",
        "tps.svg",
        "failure-rate.svg",
        "a-throughput.svg",
        "b-latency.svg",
        "b-distribution.svg",
        "report.html",
    ] {
        let text = std::fs::read_to_string(charts.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(text.contains("<svg"), "{f} has no chart");
    }
    let html = std::fs::read_to_string(charts.join("report.html")).unwrap();
    assert!(
        !html.contains("<script src") && !html.contains("http://cdn"),
        "the page must open offline"
    );
    assert!(html.contains("<td style=\"text-align:left\">a</td>") && html.contains(">b<"));
    // The throughput chart of the 200 tps run has its points near 200.
    let svg = std::fs::read_to_string(charts.join("b-throughput.svg")).unwrap();
    let mut values: Vec<f64> = svg
        .split("<title>tps: ")
        .skip(1)
        .filter_map(|t| t.split('<').next()?.parse().ok())
        .collect();
    values.sort_by(|a, b| a.total_cmp(b));
    let median = values[values.len() / 2];
    assert!((150.0..250.0).contains(&median), "{values:?}");
    // PNGs: one per chart, each an image twice the SVG's size with more than a blank page in it.
    let pngs = dir.file("pngs");
    let o = dbarena(
        &[
            "report",
            out.to_str().unwrap(),
            "--png",
            "-o",
            pngs.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let svg_count = std::fs::read_dir(&charts)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "svg")
        })
        .count();
    let mut png_count = 0;
    for e in std::fs::read_dir(&pngs).unwrap() {
        let p = e.unwrap().path();
        assert_eq!(p.extension().and_then(|x| x.to_str()), Some("png"), "{p:?}");
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{p:?}");
        // IHDR: width and height, big-endian, at bytes 16..24.
        let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
        let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
        assert!(w >= 800 && h >= 400, "{p:?} is {w}x{h}");
        assert!(
            bytes.len() > 10_000,
            "{p:?} looks blank: {} bytes",
            bytes.len()
        );
        png_count += 1;
    }
    assert_eq!(png_count, svg_count);
    let o = dbarena(
        &["report", dir.file("nothing-here").to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
}

/// A sweep over two axes: its page says what was run, has the one-line-per-value charts, and
/// loads in a real browser with every chart drawn.
#[test]
fn a_two_axis_sweep_page_loads_in_a_browser_with_every_chart_drawn() {
    let dir = Scratch::new("page");
    let db = format!("sqlite://{}", dir.file("p.db").display());
    let (o, out) = sweep(
        &dir,
        "[base]\npattern = \"writers-readers\"\nduration = \"1s\"\nnum_readers = 1\nreader_rate = 20\nkey_pool = \"pool\"\nkey_pool_size = 2\nkey_overlap_ratio = 1.0\n[axes]\nnum_writers = [1, 2]\nwriter_rate = [20, 40]\n",
        &db,
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    // What was run, at the top: the database, the workload, the version that ran it.
    let about = &html[html.find("<dl id=\"about\">").unwrap()..html.find("</dl>").unwrap()];
    for what in ["database", "sqlite://", "writers-readers", "dbarena"] {
        assert!(about.contains(what), "{what} not in {about}");
    }
    // p99 over writer rate, one line per number of writers.
    let two_axis =
        std::fs::read_to_string(out.join("writer-p99-by-writer_rate-and-num_writers.svg")).unwrap();
    assert!(
        two_axis.contains("num_writers = 1")
            && two_axis.contains("num_writers = 2")
            && two_axis.contains(">writer_rate<"),
        "{two_axis}"
    );
    assert_eq!(two_axis.matches("<polyline").count(), 2, "{two_axis}");
    open_in_browser(&out.join("report.html"), "sweep-report");
}
