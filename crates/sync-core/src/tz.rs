//! Time zone names: Windows (what Graph writes) ↔ IANA (what Odoo and chrono-tz use).
//!
//! Source: Unicode CLDR `common/supplemental/windowsZones.xml` (the `territory="001"`
//! row of every `mapZone`, CLDR 44), which is the table Microsoft itself points to. The
//! second table adds common IANA zones that share a Windows zone with the primary one
//! (from the same file's per-territory rows), so `Europe/Amsterdam` maps to
//! `W. Europe Standard Time` and back to its primary, `Europe/Berlin`.
//!
//! The canonical zone of an event is the *primary IANA name of its Windows zone*: a zone
//! written as `Europe/Amsterdam` in Odoo comes back from Graph as `W. Europe Standard
//! Time`, and both must canonicalise to the same text or every cycle would see a change.
//! Zones in neither table are kept as they are (Graph accepts many IANA names too).

use chrono_tz::Tz;

/// `(Windows name, primary IANA name)`, CLDR windowsZones territory 001.
const PRIMARY: &[(&str, &str)] = &[
    ("Dateline Standard Time", "Etc/GMT+12"),
    ("UTC-11", "Etc/GMT+11"),
    ("Aleutian Standard Time", "America/Adak"),
    ("Hawaiian Standard Time", "Pacific/Honolulu"),
    ("Marquesas Standard Time", "Pacific/Marquesas"),
    ("Alaskan Standard Time", "America/Anchorage"),
    ("UTC-09", "Etc/GMT+9"),
    ("Pacific Standard Time (Mexico)", "America/Tijuana"),
    ("UTC-08", "Etc/GMT+8"),
    ("Pacific Standard Time", "America/Los_Angeles"),
    ("US Mountain Standard Time", "America/Phoenix"),
    ("Mountain Standard Time (Mexico)", "America/Mazatlan"),
    ("Mountain Standard Time", "America/Denver"),
    ("Yukon Standard Time", "America/Whitehorse"),
    ("Central America Standard Time", "America/Guatemala"),
    ("Central Standard Time", "America/Chicago"),
    ("Easter Island Standard Time", "Pacific/Easter"),
    ("Central Standard Time (Mexico)", "America/Mexico_City"),
    ("Canada Central Standard Time", "America/Regina"),
    ("SA Pacific Standard Time", "America/Bogota"),
    ("Eastern Standard Time (Mexico)", "America/Cancun"),
    ("Eastern Standard Time", "America/New_York"),
    ("Haiti Standard Time", "America/Port-au-Prince"),
    ("Cuba Standard Time", "America/Havana"),
    ("US Eastern Standard Time", "America/Indianapolis"),
    ("Turks And Caicos Standard Time", "America/Grand_Turk"),
    ("Paraguay Standard Time", "America/Asuncion"),
    ("Atlantic Standard Time", "America/Halifax"),
    ("Venezuela Standard Time", "America/Caracas"),
    ("Central Brazilian Standard Time", "America/Cuiaba"),
    ("SA Western Standard Time", "America/La_Paz"),
    ("Pacific SA Standard Time", "America/Santiago"),
    ("Newfoundland Standard Time", "America/St_Johns"),
    ("Tocantins Standard Time", "America/Araguaina"),
    ("E. South America Standard Time", "America/Sao_Paulo"),
    ("SA Eastern Standard Time", "America/Cayenne"),
    ("Argentina Standard Time", "America/Buenos_Aires"),
    ("Greenland Standard Time", "America/Godthab"),
    ("Montevideo Standard Time", "America/Montevideo"),
    ("Magallanes Standard Time", "America/Punta_Arenas"),
    ("Saint Pierre Standard Time", "America/Miquelon"),
    ("Bahia Standard Time", "America/Bahia"),
    ("UTC-02", "Etc/GMT+2"),
    ("Azores Standard Time", "Atlantic/Azores"),
    ("Cape Verde Standard Time", "Atlantic/Cape_Verde"),
    ("UTC", "Etc/UTC"),
    ("GMT Standard Time", "Europe/London"),
    ("Greenwich Standard Time", "Atlantic/Reykjavik"),
    ("Sao Tome Standard Time", "Africa/Sao_Tome"),
    ("Morocco Standard Time", "Africa/Casablanca"),
    ("W. Europe Standard Time", "Europe/Berlin"),
    ("Central Europe Standard Time", "Europe/Budapest"),
    ("Romance Standard Time", "Europe/Paris"),
    ("Central European Standard Time", "Europe/Warsaw"),
    ("W. Central Africa Standard Time", "Africa/Lagos"),
    ("Jordan Standard Time", "Asia/Amman"),
    ("GTB Standard Time", "Europe/Bucharest"),
    ("Middle East Standard Time", "Asia/Beirut"),
    ("Egypt Standard Time", "Africa/Cairo"),
    ("E. Europe Standard Time", "Europe/Chisinau"),
    ("Syria Standard Time", "Asia/Damascus"),
    ("West Bank Standard Time", "Asia/Hebron"),
    ("South Africa Standard Time", "Africa/Johannesburg"),
    ("FLE Standard Time", "Europe/Kiev"),
    ("Israel Standard Time", "Asia/Jerusalem"),
    ("South Sudan Standard Time", "Africa/Juba"),
    ("Kaliningrad Standard Time", "Europe/Kaliningrad"),
    ("Sudan Standard Time", "Africa/Khartoum"),
    ("Libya Standard Time", "Africa/Tripoli"),
    ("Namibia Standard Time", "Africa/Windhoek"),
    ("Arabic Standard Time", "Asia/Baghdad"),
    ("Turkey Standard Time", "Europe/Istanbul"),
    ("Arab Standard Time", "Asia/Riyadh"),
    ("Belarus Standard Time", "Europe/Minsk"),
    ("Russian Standard Time", "Europe/Moscow"),
    ("E. Africa Standard Time", "Africa/Nairobi"),
    ("Volgograd Standard Time", "Europe/Volgograd"),
    ("Iran Standard Time", "Asia/Tehran"),
    ("Arabian Standard Time", "Asia/Dubai"),
    ("Astrakhan Standard Time", "Europe/Astrakhan"),
    ("Azerbaijan Standard Time", "Asia/Baku"),
    ("Russia Time Zone 3", "Europe/Samara"),
    ("Mauritius Standard Time", "Indian/Mauritius"),
    ("Saratov Standard Time", "Europe/Saratov"),
    ("Georgian Standard Time", "Asia/Tbilisi"),
    ("Caucasus Standard Time", "Asia/Yerevan"),
    ("Afghanistan Standard Time", "Asia/Kabul"),
    ("West Asia Standard Time", "Asia/Tashkent"),
    ("Ekaterinburg Standard Time", "Asia/Yekaterinburg"),
    ("Pakistan Standard Time", "Asia/Karachi"),
    ("Qyzylorda Standard Time", "Asia/Qyzylorda"),
    ("India Standard Time", "Asia/Calcutta"),
    ("Sri Lanka Standard Time", "Asia/Colombo"),
    ("Nepal Standard Time", "Asia/Katmandu"),
    ("Central Asia Standard Time", "Asia/Bishkek"),
    ("Bangladesh Standard Time", "Asia/Dhaka"),
    ("Omsk Standard Time", "Asia/Omsk"),
    ("Myanmar Standard Time", "Asia/Rangoon"),
    ("SE Asia Standard Time", "Asia/Bangkok"),
    ("Altai Standard Time", "Asia/Barnaul"),
    ("W. Mongolia Standard Time", "Asia/Hovd"),
    ("North Asia Standard Time", "Asia/Krasnoyarsk"),
    ("N. Central Asia Standard Time", "Asia/Novosibirsk"),
    ("Tomsk Standard Time", "Asia/Tomsk"),
    ("China Standard Time", "Asia/Shanghai"),
    ("North Asia East Standard Time", "Asia/Irkutsk"),
    ("Singapore Standard Time", "Asia/Singapore"),
    ("W. Australia Standard Time", "Australia/Perth"),
    ("Taipei Standard Time", "Asia/Taipei"),
    ("Ulaanbaatar Standard Time", "Asia/Ulaanbaatar"),
    ("Aus Central W. Standard Time", "Australia/Eucla"),
    ("Transbaikal Standard Time", "Asia/Chita"),
    ("Tokyo Standard Time", "Asia/Tokyo"),
    ("North Korea Standard Time", "Asia/Pyongyang"),
    ("Korea Standard Time", "Asia/Seoul"),
    ("Yakutsk Standard Time", "Asia/Yakutsk"),
    ("Cen. Australia Standard Time", "Australia/Adelaide"),
    ("AUS Central Standard Time", "Australia/Darwin"),
    ("E. Australia Standard Time", "Australia/Brisbane"),
    ("AUS Eastern Standard Time", "Australia/Sydney"),
    ("West Pacific Standard Time", "Pacific/Port_Moresby"),
    ("Tasmania Standard Time", "Australia/Hobart"),
    ("Vladivostok Standard Time", "Asia/Vladivostok"),
    ("Lord Howe Standard Time", "Australia/Lord_Howe"),
    ("Bougainville Standard Time", "Pacific/Bougainville"),
    ("Russia Time Zone 10", "Asia/Srednekolymsk"),
    ("Magadan Standard Time", "Asia/Magadan"),
    ("Norfolk Standard Time", "Pacific/Norfolk"),
    ("Sakhalin Standard Time", "Asia/Sakhalin"),
    ("Central Pacific Standard Time", "Pacific/Guadalcanal"),
    ("Russia Time Zone 11", "Asia/Kamchatka"),
    ("New Zealand Standard Time", "Pacific/Auckland"),
    ("UTC+12", "Etc/GMT-12"),
    ("Fiji Standard Time", "Pacific/Fiji"),
    ("Chatham Islands Standard Time", "Pacific/Chatham"),
    ("UTC+13", "Etc/GMT-13"),
    ("Tonga Standard Time", "Pacific/Tongatapu"),
    ("Samoa Standard Time", "Pacific/Apia"),
    ("Line Islands Standard Time", "Pacific/Kiritimati"),
];

/// `(IANA name, Windows name)` for common zones that are not a primary, plus the current
/// tzdb spellings of primaries CLDR still writes in their old form.
const SECONDARY: &[(&str, &str)] = &[
    ("UTC", "UTC"),
    ("Etc/GMT", "UTC"),
    ("GMT", "UTC"),
    ("Europe/Amsterdam", "W. Europe Standard Time"),
    ("Europe/Rome", "W. Europe Standard Time"),
    ("Europe/Vienna", "W. Europe Standard Time"),
    ("Europe/Zurich", "W. Europe Standard Time"),
    ("Europe/Stockholm", "W. Europe Standard Time"),
    ("Europe/Oslo", "W. Europe Standard Time"),
    ("Europe/Luxembourg", "W. Europe Standard Time"),
    ("Europe/Monaco", "W. Europe Standard Time"),
    ("Europe/Malta", "W. Europe Standard Time"),
    ("Europe/Brussels", "Romance Standard Time"),
    ("Europe/Copenhagen", "Romance Standard Time"),
    ("Europe/Madrid", "Romance Standard Time"),
    ("Europe/Prague", "Central Europe Standard Time"),
    ("Europe/Bratislava", "Central Europe Standard Time"),
    ("Europe/Belgrade", "Central Europe Standard Time"),
    ("Europe/Ljubljana", "Central Europe Standard Time"),
    ("Europe/Zagreb", "Central European Standard Time"),
    ("Europe/Sarajevo", "Central European Standard Time"),
    ("Europe/Skopje", "Central European Standard Time"),
    ("Europe/Dublin", "GMT Standard Time"),
    ("Europe/Lisbon", "GMT Standard Time"),
    ("Atlantic/Canary", "GMT Standard Time"),
    ("Europe/Athens", "GTB Standard Time"),
    ("Asia/Nicosia", "GTB Standard Time"),
    ("Europe/Kyiv", "FLE Standard Time"),
    ("Europe/Helsinki", "FLE Standard Time"),
    ("Europe/Sofia", "FLE Standard Time"),
    ("Europe/Riga", "FLE Standard Time"),
    ("Europe/Tallinn", "FLE Standard Time"),
    ("Europe/Vilnius", "FLE Standard Time"),
    ("America/Toronto", "Eastern Standard Time"),
    ("America/Detroit", "Eastern Standard Time"),
    ("America/Indiana/Indianapolis", "US Eastern Standard Time"),
    ("America/Vancouver", "Pacific Standard Time"),
    ("America/Edmonton", "Mountain Standard Time"),
    ("America/Winnipeg", "Central Standard Time"),
    ("America/Argentina/Buenos_Aires", "Argentina Standard Time"),
    ("America/Nuuk", "Greenland Standard Time"),
    ("America/Lima", "SA Pacific Standard Time"),
    ("Asia/Kolkata", "India Standard Time"),
    ("Asia/Kathmandu", "Nepal Standard Time"),
    ("Asia/Yangon", "Myanmar Standard Time"),
    ("Asia/Hong_Kong", "China Standard Time"),
    ("Asia/Jakarta", "SE Asia Standard Time"),
    ("Asia/Ho_Chi_Minh", "SE Asia Standard Time"),
    ("Asia/Kuala_Lumpur", "Singapore Standard Time"),
    ("Asia/Manila", "Singapore Standard Time"),
    ("Asia/Qatar", "Arab Standard Time"),
    ("Asia/Kuwait", "Arab Standard Time"),
    ("Australia/Melbourne", "AUS Eastern Standard Time"),
    ("Australia/Canberra", "AUS Eastern Standard Time"),
    ("Africa/Algiers", "W. Central Africa Standard Time"),
    ("Africa/Tunis", "W. Central Africa Standard Time"),
    ("Africa/Abidjan", "Greenwich Standard Time"),
    ("Africa/Accra", "Greenwich Standard Time"),
];

/// The primary IANA name of a Windows zone name, if it is one.
pub fn windows_to_iana(windows: &str) -> Option<&'static str> {
    PRIMARY
        .iter()
        .find(|(w, _)| w.eq_ignore_ascii_case(windows))
        .map(|(_, iana)| *iana)
}

/// The Windows zone an IANA name belongs to, if the tables know it.
pub fn iana_to_windows(iana: &str) -> Option<&'static str> {
    PRIMARY
        .iter()
        .find(|(_, i)| *i == iana)
        .map(|(w, _)| *w)
        .or_else(|| SECONDARY.iter().find(|(i, _)| *i == iana).map(|(_, w)| *w))
}

/// The canonical name of a zone given in either notation: the primary IANA name of its
/// Windows zone when the tables know it, else the IANA name as given if chrono-tz knows
/// it, else `None` (an unknown or custom zone such as `tzone://Microsoft/Custom`).
pub fn canonical(name: &str) -> Option<String> {
    let name = name.trim();
    if let Some(iana) = windows_to_iana(name) {
        return Some(iana.to_owned());
    }
    // A zone whose Windows name maps back to no IANA name (`Etc/UTC`) falls through to
    // chrono-tz instead of being unknown (found by fuzzing: `Event::normalized` dropped
    // `original_time_zone: Etc/UTC` on a second pass).
    if let Some(iana) = iana_to_windows(name).and_then(windows_to_iana) {
        return Some(iana.to_owned());
    }
    name.parse::<Tz>().ok().map(|tz| tz.name().to_owned())
}

/// The chrono-tz zone for a name in either notation.
pub fn parse(name: &str) -> Option<Tz> {
    canonical(name).and_then(|n| n.parse::<Tz>().ok())
}

/// The name to write to Graph: the Windows name when known (every Graph endpoint accepts
/// it), else the IANA name.
pub fn graph_name(canonical_iana: &str) -> String {
    iana_to_windows(canonical_iana)
        .map(str::to_owned)
        .unwrap_or_else(|| canonical_iana.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_iana_name_in_both_tables_is_known_to_chrono_tz() {
        for (_, iana) in PRIMARY {
            assert!(iana.parse::<Tz>().is_ok(), "{iana}");
        }
        for (iana, windows) in SECONDARY {
            assert!(iana.parse::<Tz>().is_ok(), "{iana}");
            assert!(windows_to_iana(windows).is_some(), "{windows}");
        }
    }

    #[test]
    fn a_windows_name_and_the_iana_names_of_its_zone_canonicalise_alike() {
        let c = canonical("W. Europe Standard Time").unwrap();
        assert_eq!(c, "Europe/Berlin");
        assert_eq!(canonical("Europe/Amsterdam").unwrap(), c);
        assert_eq!(canonical("Europe/Berlin").unwrap(), c);
        assert_eq!(
            canonical("Asia/Kolkata").unwrap(),
            canonical("India Standard Time").unwrap()
        );
        assert_eq!(canonical("UTC").unwrap(), "Etc/UTC");
        assert_eq!(graph_name("Europe/Berlin"), "W. Europe Standard Time");
    }

    #[test]
    fn unknown_and_custom_zones_are_not_guessed() {
        assert_eq!(canonical("tzone://Microsoft/Custom"), None);
        assert_eq!(canonical("Mars/Olympus_Mons"), None);
        // An IANA zone outside the tables is kept as it is.
        assert_eq!(canonical("America/Boise").unwrap(), "America/Boise");
    }

    #[test]
    fn etc_utc_is_canonical_so_normalising_twice_changes_nothing() {
        // Found by fuzz/fuzz_targets/sync_core_mapping.rs.
        assert_eq!(canonical("Etc/UTC").as_deref(), Some("Etc/UTC"));
        let mut e = crate::Event::timed(
            "x",
            chrono::DateTime::from_timestamp(1_795_000_000, 0).unwrap(),
            chrono::DateTime::from_timestamp(1_795_003_600, 0).unwrap(),
        );
        e.time_zone = Some("Etc/UTC".into());
        let once = e.normalized();
        assert_eq!(once.clone().normalized(), once);
    }
}
