//! The specification's random inputs (TPC-C 5.11, clauses 2.1.6 and 4.3.2): NURand with its
//! run-time constants, customer last names from syllables, a-strings, n-strings, zip codes
//! and the 10% "ORIGINAL" data.

use crate::datagen::Rng;

/// Items in the catalogue (clause 1.3.1: fixed at 100,000).
pub const ITEMS: i64 = 100_000;
/// Districts per warehouse.
pub const DISTRICTS: i64 = 10;
/// Customers per district.
pub const CUSTOMERS: i64 = 3_000;
/// Orders per district in the initial database; the last 900 are undelivered new-orders.
pub const ORDERS: i64 = 3_000;
pub const FIRST_NEW_ORDER: i64 = 2_101;

/// The syllables of C_LAST (clause 4.3.2.3).
const SYLLABLES: [&str; 10] = [
    "BAR", "OUGHT", "ABLE", "PRI", "PRES", "ESE", "ANTI", "CALLY", "ATION", "EING",
];

/// The run-time constants C of NURand for C_LAST (A = 255), C_ID (A = 1023) and OL_I_ID
/// (A = 8191), clause 2.1.6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Constants {
    pub c_last: i64,
    pub c_id: i64,
    pub ol_i_id: i64,
}

impl Constants {
    /// The constants the loader uses, from the seed.
    pub fn for_load(seed: u64) -> Self {
        let mut r = Rng::derive(seed, 0x7C_C0);
        Constants {
            c_last: r.range_i64(0, 255),
            c_id: r.range_i64(0, 1023),
            ol_i_id: r.range_i64(0, 8191),
        }
    }

    /// The constants of a run, given the loader's C_LAST: clause 2.1.6.1 wants the two C_LAST
    /// values 65..=119 apart and not 96 or 112 apart, so that the run's names do not follow
    /// the load's distribution exactly; C_ID and OL_I_ID may be any value.
    pub fn for_run(load_c_last: i64, seed: u64) -> Self {
        let mut r = Rng::derive(seed, 0x7C_C1);
        let c_last = loop {
            let c = r.range_i64(0, 255);
            let delta = (c - load_c_last).abs();
            if (65..=119).contains(&delta) && delta != 96 && delta != 112 {
                break c;
            }
        };
        Constants {
            c_last,
            c_id: r.range_i64(0, 1023),
            ol_i_id: r.range_i64(0, 8191),
        }
    }
}

/// NURand(A, x, y) = (((random(0, A) | random(x, y)) + C) % (y - x + 1)) + x.
pub fn nurand(r: &mut Rng, a: i64, c: i64, x: i64, y: i64) -> i64 {
    (((r.range_i64(0, a) | r.range_i64(x, y)) + c) % (y - x + 1)) + x
}

/// The last name of number `n` in 0..=999: the syllables of its three digits.
pub fn last_name(n: i64) -> String {
    let n = n.clamp(0, 999) as usize;
    let mut s = String::with_capacity(15);
    s.push_str(SYLLABLES[n / 100]);
    s.push_str(SYLLABLES[(n / 10) % 10]);
    s.push_str(SYLLABLES[n % 10]);
    s
}

/// A customer id by NURand(1023, 1, 3000).
pub fn customer_id(r: &mut Rng, k: &Constants) -> i64 {
    nurand(r, 1023, k.c_id, 1, CUSTOMERS)
}

/// A last name by NURand(255, 0, 999).
pub fn customer_last(r: &mut Rng, k: &Constants) -> String {
    last_name(nurand(r, 255, k.c_last, 0, 999))
}

/// An item id by NURand(8191, 1, 100000).
pub fn item_id(r: &mut Rng, k: &Constants) -> i64 {
    nurand(r, 8191, k.ol_i_id, 1, ITEMS)
}

const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// A random a-string of length lo..=hi.
pub fn a_string(r: &mut Rng, lo: i64, hi: i64) -> String {
    let n = r.range_i64(lo, hi) as usize;
    let mut s = String::with_capacity(n);
    // Ten 6-bit draws per random word (values 62 and 63 are skipped, which keeps the
    // characters uniform): the loader makes hundreds of millions of these characters.
    let mut bits = 0u64;
    let mut left = 0;
    while s.len() < n {
        if left == 0 {
            bits = r.next_u64();
            left = 10;
        }
        let i = (bits & 63) as usize;
        bits >>= 6;
        left -= 1;
        if i < ALNUM.len() {
            s.push(ALNUM[i] as char);
        }
    }
    s
}

/// A random n-string (digits) of length lo..=hi.
pub fn n_string(r: &mut Rng, lo: i64, hi: i64) -> String {
    let n = r.range_i64(lo, hi) as usize;
    (0..n).map(|_| (b'0' + r.below(10) as u8) as char).collect()
}

/// A zip code: four random digits and "11111" (clause 4.3.2.7).
pub fn zip(r: &mut Rng) -> String {
    let mut s = n_string(r, 4, 4);
    s.push_str("11111");
    s
}

/// I_DATA / S_DATA: an a-string of 26..=50, holding "ORIGINAL" at a random place in 10% of
/// rows (clause 4.3.3.1).
pub fn data_with_original(r: &mut Rng) -> String {
    let mut s = a_string(r, 26, 50);
    if r.below(10) == 0 {
        let at = r.below((s.len() - 8 + 1) as u64) as usize;
        s.replace_range(at..at + 8, "ORIGINAL");
    }
    s
}

/// A fixed-point amount of `cents` as exact decimal text.
pub fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.abs();
    format!("{sign}{}.{:02}", c / 100, c % 100)
}

/// A random amount lo..=hi in cents, as decimal text.
pub fn money_between(r: &mut Rng, lo_cents: i64, hi_cents: i64) -> String {
    money(r.range_i64(lo_cents, hi_cents))
}

/// A tax or discount rate with four decimals, lo..=hi in ten-thousandths.
pub fn rate(r: &mut Rng, lo: i64, hi: i64) -> String {
    let v = r.range_i64(lo, hi);
    format!("0.{v:04}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_names_come_from_the_syllables() {
        assert_eq!(last_name(0), "BARBARBAR");
        assert_eq!(last_name(371), "PRICALLYOUGHT");
        assert_eq!(last_name(999), "EINGEINGEING");
    }

    #[test]
    fn nurand_stays_in_range_and_is_skewed() {
        let k = Constants::for_load(1);
        let mut r = Rng::new(9);
        let mut counts = vec![0u32; 1000];
        for _ in 0..200_000 {
            let n = nurand(&mut r, 255, k.c_last, 0, 999);
            assert!((0..=999).contains(&n));
            counts[n as usize] += 1;
            let c = customer_id(&mut r, &k);
            assert!((1..=CUSTOMERS).contains(&c));
            let i = item_id(&mut r, &k);
            assert!((1..=ITEMS).contains(&i));
        }
        // Uniform would put ~200 in each; NURand's OR makes some names far more common.
        let max = *counts.iter().max().unwrap_or(&0);
        let min = *counts.iter().min().unwrap_or(&0);
        assert!(max > 3 * min.max(1), "max {max} min {min}");
    }

    #[test]
    fn the_run_constant_keeps_the_spec_distance_from_the_load_constant() {
        for seed in 0..500 {
            let load = Constants::for_load(seed);
            let run = Constants::for_run(load.c_last, seed ^ 77);
            let d = (run.c_last - load.c_last).abs();
            assert!((65..=119).contains(&d) && d != 96 && d != 112, "{d}");
        }
    }

    #[test]
    fn original_appears_in_about_a_tenth_of_the_data() {
        let mut r = Rng::new(3);
        let n = (0..20_000)
            .filter(|_| {
                let s = data_with_original(&mut r);
                assert!((26..=50).contains(&s.len()));
                s.contains("ORIGINAL")
            })
            .count();
        assert!((1_600..2_400).contains(&n), "{n}");
        assert_eq!(money(-1000), "-10.00");
        assert_eq!(money(5), "0.05");
    }
}
