//! Playlists a relay source may be: `.m3u` and `.pls` (a list of stream addresses to try in
//! turn, as stations publish them), and HLS `.m3u8` (a master playlist of variants, or a
//! media playlist of segments that a live stream keeps extending). Only the tags loaxa acts
//! on are read; the parsing is a few lines a format, not worth a dependency.

use super::source::Url;

/// What a fetched text turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Playlist {
    /// Stream addresses to try in order (`.m3u`, `.pls`).
    Streams(Vec<Url>),
    /// HLS variants, in the order the master lists them, with their bandwidth.
    Master(Vec<(u64, Url)>),
    Media(Media),
}

/// An HLS media playlist.
#[derive(Debug, Clone, PartialEq)]
pub struct Media {
    pub target_duration: f64,
    /// The sequence number of the first segment listed.
    pub first_sequence: u64,
    pub segments: Vec<Segment>,
    /// `#EXT-X-ENDLIST`: nothing more will come.
    pub ended: bool,
    /// `#EXT-X-MAP`: segments are fragmented MP4, each continuing this initialisation
    /// segment.
    pub map: Option<Url>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub sequence: u64,
    pub duration: f64,
    pub url: Url,
}

/// Whether a response is a playlist, by its type or, failing that, its address.
pub fn is_playlist(content_type: Option<&str>, url: &Url) -> bool {
    let by_type = content_type.is_some_and(|t| {
        let t = t.split(';').next().unwrap_or_default().trim();
        matches!(
            t,
            "audio/x-mpegurl"
                | "audio/mpegurl"
                | "application/x-mpegurl"
                | "application/vnd.apple.mpegurl"
                | "audio/x-scpls"
                | "application/pls+xml"
        )
    });
    by_type || matches!(url.extension().as_deref(), Some("m3u" | "m3u8" | "pls"))
}

/// Parses a playlist fetched from `base`.
pub fn parse(text: &str, base: &Url) -> Result<Playlist, String> {
    let text = text.trim_start_matches('\u{feff}');
    if text.trim_start().starts_with("[playlist]") || text.contains("\nFile1=") {
        return pls(text, base);
    }
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.iter().any(|l| l.starts_with("#EXT-X-STREAM-INF")) {
        let mut variants = Vec::new();
        let mut bandwidth = None;
        for l in &lines {
            if let Some(attrs) = l.strip_prefix("#EXT-X-STREAM-INF:") {
                bandwidth = Some(
                    attribute(attrs, "BANDWIDTH")
                        .and_then(|b| b.parse().ok())
                        .unwrap_or(0),
                );
            } else if !l.starts_with('#') {
                if let Some(b) = bandwidth.take() {
                    variants.push((b, base.join(l)?));
                }
            }
        }
        if variants.is_empty() {
            return Err("an HLS master playlist without variants".into());
        }
        return Ok(Playlist::Master(variants));
    }
    if lines
        .iter()
        .any(|l| l.starts_with("#EXTINF") || l.starts_with("#EXT-X-TARGETDURATION"))
        && lines.iter().any(|l| l.starts_with("#EXT-X-"))
    {
        let mut media = Media {
            target_duration: 6.0,
            first_sequence: 0,
            segments: Vec::new(),
            ended: false,
            map: None,
        };
        let mut duration = None;
        for l in &lines {
            if let Some(v) = l.strip_prefix("#EXT-X-TARGETDURATION:") {
                media.target_duration = v.trim().parse().unwrap_or(6.0);
            } else if let Some(v) = l.strip_prefix("#EXT-X-MEDIA-SEQUENCE:") {
                media.first_sequence = v.trim().parse().unwrap_or(0);
            } else if let Some(v) = l.strip_prefix("#EXTINF:") {
                duration = Some(
                    v.split(',')
                        .next()
                        .and_then(|d| d.trim().parse().ok())
                        .unwrap_or(media.target_duration),
                );
            } else if l.starts_with("#EXT-X-ENDLIST") {
                media.ended = true;
            } else if let Some(attrs) = l.strip_prefix("#EXT-X-MAP:") {
                let uri = attribute(attrs, "URI").ok_or("#EXT-X-MAP without a URI")?;
                media.map = Some(base.join(uri)?);
            } else if !l.starts_with('#') {
                let sequence = media.first_sequence + media.segments.len() as u64;
                media.segments.push(Segment {
                    sequence,
                    duration: duration.take().unwrap_or(media.target_duration),
                    url: base.join(l)?,
                });
            }
        }
        return Ok(Playlist::Media(media));
    }
    let streams = lines
        .iter()
        .filter(|l| !l.starts_with('#'))
        .map(|l| base.join(l))
        .collect::<Result<Vec<_>, _>>()?;
    if streams.is_empty() {
        return Err("an empty playlist".into());
    }
    Ok(Playlist::Streams(streams))
}

fn pls(text: &str, base: &Url) -> Result<Playlist, String> {
    let mut entries: Vec<(u32, Url)> = Vec::new();
    for l in text.lines() {
        let Some((key, value)) = l.trim().split_once('=') else {
            continue;
        };
        if let Some(n) = key.trim().strip_prefix("File") {
            if let Ok(n) = n.parse() {
                entries.push((n, base.join(value.trim())?));
            }
        }
    }
    entries.sort_by_key(|(n, _)| *n);
    if entries.is_empty() {
        return Err("a .pls playlist without File entries".into());
    }
    Ok(Playlist::Streams(
        entries.into_iter().map(|(_, u)| u).collect(),
    ))
}

/// An attribute's value in an HLS attribute list (`A=1,B="x,y"`).
fn attribute<'a>(attrs: &'a str, name: &str) -> Option<&'a str> {
    let mut rest = attrs;
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"')?;
            (&quoted[..end], quoted[end + 1..].trim_start_matches(','))
        } else {
            match after.split_once(',') {
                Some((v, n)) => (v, n),
                None => (after, ""),
            }
        };
        if key.trim() == name {
            return Some(value);
        }
        rest = next;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("http://h:8000/radio/list.m3u8").unwrap()
    }

    #[test]
    fn m3u_and_pls_list_streams_in_order() {
        let m3u = "#EXTM3U\n#EXTINF:-1,VOV1\nhttp://a/vov1.mp3\nbackup.mp3\n";
        let Playlist::Streams(s) = parse(m3u, &base()).unwrap() else {
            panic!()
        };
        assert_eq!(
            s.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["http://a/vov1.mp3", "http://h:8000/radio/backup.mp3"]
        );
        let pls = "[playlist]\nNumberOfEntries=2\nFile2=http://b/2\nFile1=http://b/1\nTitle1=x\n";
        let Playlist::Streams(s) = parse(pls, &base()).unwrap() else {
            panic!()
        };
        assert_eq!(s[0].path, "/1");
        assert!(parse("#EXTM3U\n", &base()).is_err());
    }

    #[test]
    fn hls_master_and_media_playlists_are_told_apart() {
        let master = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS=\"mp4a.40.2,x\"\nlow/index.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=128000\nhigh/index.m3u8\n";
        let Playlist::Master(v) = parse(master, &base()).unwrap() else {
            panic!()
        };
        assert_eq!(v[0].0, 64000);
        assert_eq!(v[1].1.path, "/radio/high/index.m3u8");
        let media = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:17\n#EXTINF:4.0,\ns17.ts\n#EXTINF:3.5,\ns18.ts\n";
        let Playlist::Media(m) = parse(media, &base()).unwrap() else {
            panic!()
        };
        assert_eq!(
            (m.target_duration, m.first_sequence, m.ended),
            (4.0, 17, false)
        );
        assert_eq!(m.segments[1].sequence, 18);
        assert_eq!(m.segments[1].duration, 3.5);
        assert_eq!(m.map, None);
        let fmp4 = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:2.0,\nlive0.m4s\n";
        let Playlist::Media(m) = parse(fmp4, &base()).unwrap() else {
            panic!()
        };
        assert_eq!(m.map.unwrap().path, "/radio/init.mp4");
    }
}
