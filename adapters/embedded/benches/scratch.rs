#![allow(dead_code)]
use std::time::Instant;
use rusqlite::Connection;
use serde_json::{Map, Value};
#[path = "../src/codec.rs"]
mod codec;

fn t<T>(name: &str, f: impl FnOnce() -> T) -> T {
    let s = Instant::now();
    let r = f();
    println!("{name}: {:.3}", s.elapsed().as_secs_f64());
    r
}

fn main() {
    let conn = Connection::open("/tmp/fgscratch/feedgate.db").unwrap();
    conn.execute_batch("PRAGMA mmap_size=1073741824; PRAGMA cache_size=-65536;").unwrap();
    let blobs: Vec<(String, Vec<u8>)> = t("scan+copy", || {
        let mut st = conn.prepare("SELECT value, type, fields, custom FROM indicators ORDER BY seq").unwrap();
        let mut rows = st.query([]).unwrap();
        let mut out = Vec::new();
        while let Some(r) = rows.next().unwrap() {
            out.push((r.get_ref(0).unwrap().as_str().unwrap().to_owned(), r.get_ref(2).unwrap().as_bytes().unwrap().to_vec()));
        }
        out
    });
    let bins: Vec<Vec<u8>> = blobs.iter().map(|(_, b)| { let m: Map<String, Value> = serde_json::from_slice(b).unwrap(); let mut o = Vec::new(); codec::encode(&m, &mut o).unwrap(); o }).collect();
    println!("json bytes {} bin bytes {}", blobs.iter().map(|b| b.1.len()).sum::<usize>(), bins.iter().map(|b| b.len()).sum::<usize>());
    for _ in 0..2 {
        if std::env::var("REV").is_ok() {
        let c0 = cpu();
        let maps: Vec<Map<String, Value>> = t("bin decode", || bins.iter().map(|b| codec::decode(b).unwrap()).collect());
        println!("  cpu {:.2}", cpu()-c0);
        t("drop", || drop(maps));
        let c0 = cpu();
        let maps: Vec<Map<String, Value>> = t("json decode", || blobs.iter().map(|(_, b)| serde_json::from_slice(b).unwrap()).collect());
        println!("  cpu {:.2}", cpu()-c0);
        t("drop", || drop(maps));
        } else {
        let c0 = cpu();
        let maps: Vec<Map<String, Value>> = t("json decode", || blobs.iter().map(|(_, b)| serde_json::from_slice(b).unwrap()).collect());
        println!("  cpu {:.2}", cpu()-c0);
        t("drop", || drop(maps));
        let c0 = cpu();
        let maps: Vec<Map<String, Value>> = t("bin decode", || bins.iter().map(|b| codec::decode(b).unwrap()).collect());
        println!("  cpu {:.2}", cpu()-c0);
        t("drop", || drop(maps));
        }
    }
}
fn cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let (_, rest) = stat.rsplit_once(')').unwrap();
    rest.split_whitespace().skip(11).take(2).filter_map(|f| f.parse::<f64>().ok()).sum::<f64>() / 100.0
}
