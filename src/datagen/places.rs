//! Places that belong together: a city with its state or region, a postal code of the right
//! shape, and its country, so one row's address is of one country.

/// One city with its region and country.
#[derive(Debug, Clone, Copy)]
pub struct Place {
    pub city: &'static str,
    /// Region or state code (two or three letters).
    pub state: &'static str,
    /// Full region or state name.
    pub state_name: &'static str,
    /// Postal code pattern: `#` is a digit, anything else is kept.
    pub postal: &'static str,
    pub country: &'static str,
    /// ISO 3166-1 alpha-2.
    pub country_code: &'static str,
    /// Country calling code.
    pub phone: &'static str,
}

const fn p(
    city: &'static str,
    state: &'static str,
    state_name: &'static str,
    postal: &'static str,
    country: &'static str,
    country_code: &'static str,
    phone: &'static str,
) -> Place {
    Place {
        city,
        state,
        state_name,
        postal,
        country,
        country_code,
        phone,
    }
}

pub const PLACES: &[Place] = &[
    p(
        "Seattle",
        "WA",
        "Washington",
        "981##",
        "United States",
        "US",
        "1",
    ),
    p("Austin", "TX", "Texas", "787##", "United States", "US", "1"),
    p(
        "Boston",
        "MA",
        "Massachusetts",
        "021##",
        "United States",
        "US",
        "1",
    ),
    p(
        "Chicago",
        "IL",
        "Illinois",
        "606##",
        "United States",
        "US",
        "1",
    ),
    p(
        "San Diego",
        "CA",
        "California",
        "921##",
        "United States",
        "US",
        "1",
    ),
    p(
        "Denver",
        "CO",
        "Colorado",
        "802##",
        "United States",
        "US",
        "1",
    ),
    p(
        "Miami",
        "FL",
        "Florida",
        "331##",
        "United States",
        "US",
        "1",
    ),
    p(
        "New York",
        "NY",
        "New York",
        "100##",
        "United States",
        "US",
        "1",
    ),
    p("Toronto", "ON", "Ontario", "M5V #A#", "Canada", "CA", "1"),
    p(
        "Vancouver",
        "BC",
        "British Columbia",
        "V6B #C#",
        "Canada",
        "CA",
        "1",
    ),
    p("Berlin", "BE", "Berlin", "10###", "Germany", "DE", "49"),
    p("Munich", "BY", "Bavaria", "80###", "Germany", "DE", "49"),
    p("Hamburg", "HH", "Hamburg", "20###", "Germany", "DE", "49"),
    p(
        "Paris",
        "IDF",
        "Île-de-France",
        "750##",
        "France",
        "FR",
        "33",
    ),
    p(
        "Lyon",
        "ARA",
        "Auvergne-Rhône-Alpes",
        "690##",
        "France",
        "FR",
        "33",
    ),
    p(
        "London",
        "ENG",
        "England",
        "SW1A #AA",
        "United Kingdom",
        "GB",
        "44",
    ),
    p(
        "Manchester",
        "ENG",
        "England",
        "M1 #AB",
        "United Kingdom",
        "GB",
        "44",
    ),
    p(
        "Edinburgh",
        "SCT",
        "Scotland",
        "EH1 #QN",
        "United Kingdom",
        "GB",
        "44",
    ),
    p("Madrid", "MD", "Madrid", "280##", "Spain", "ES", "34"),
    p("Milan", "MI", "Lombardy", "201##", "Italy", "IT", "39"),
    p(
        "Amsterdam",
        "NH",
        "North Holland",
        "10## AB",
        "Netherlands",
        "NL",
        "31",
    ),
    p(
        "São Paulo",
        "SP",
        "São Paulo",
        "01###-000",
        "Brazil",
        "BR",
        "55",
    ),
    p(
        "Sydney",
        "NSW",
        "New South Wales",
        "2###",
        "Australia",
        "AU",
        "61",
    ),
    p("Tokyo", "13", "Tokyo", "100-####", "Japan", "JP", "81"),
];

impl Place {
    /// A postal code of this place's shape, digits from `digits`.
    pub fn postal_code(&self, mut digits: u64) -> String {
        self.postal
            .chars()
            .map(|c| {
                if c == '#' {
                    let d = (digits % 10) as u8;
                    digits /= 10;
                    (b'0' + d) as char
                } else {
                    c
                }
            })
            .collect()
    }
}
