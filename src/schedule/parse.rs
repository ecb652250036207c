//! Validation, the second phase: the raw shape checked into a [`Schedule`], every problem
//! collected and located as `file:line:col`.

use super::*;

/// What validation may look at beyond the text: the audio folder, to check references.
pub struct Context<'a> {
    pub lang: Lang,
    /// `None` skips file checks (for tests of the text alone).
    pub audio_dir: Option<&'a Path>,
    pub probes: Option<&'a ProbeCache>,
    /// The station's loudness target and margin (LUFS, LU), to flag clips far from it.
    pub loudness: Option<(f64, f64)>,
    /// The station's guards, to warn of slots that would break them.
    pub guards: Option<crate::config::Guards>,
}

impl<'a> Context<'a> {
    /// Checking schedules as the station runs them: its audio folder (and, with `probes`,
    /// every clip decoded), its loudness policy and its guards.
    pub fn for_station(config: &'a crate::config::Config, probes: Option<&'a ProbeCache>) -> Self {
        Context {
            lang: config.language,
            audio_dir: Some(&config.audio_dir),
            probes,
            loudness: Some((config.loudness.target, config.loudness.margin)),
            guards: Some(config.guards),
        }
    }

    /// Checking a schedule's text alone (a stored version read back).
    pub fn text_only(lang: Lang) -> Self {
        Context {
            lang,
            audio_dir: None,
            probes: None,
            loudness: None,
            guards: None,
        }
    }
}

pub(super) struct Checker<'a> {
    file: &'a Path,
    text: &'a str,
    lang: Lang,
    problems: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn error(&mut self, span: Range<usize>, message: String) {
        self.problems
            .push(Diagnostic::error(self.file, self.text, span, message));
    }
    fn warning(&mut self, span: Range<usize>, message: String) {
        self.problems
            .push(Diagnostic::warning(self.file, self.text, span, message));
    }

    fn date(&mut self, v: &Spanned<Value>) -> Option<NaiveDate> {
        let parsed = date_value(v.get_ref());
        if parsed.is_none() {
            let lang = self.lang;
            self.error(v.span(), bad_date(lang).into());
        }
        parsed
    }

    fn range(
        &mut self,
        from: &Option<Spanned<Value>>,
        until: &Option<Spanned<Value>>,
    ) -> (Option<NaiveDate>, Option<NaiveDate>) {
        let f = from.as_ref().and_then(|v| self.date(v));
        let u = until.as_ref().and_then(|v| self.date(v));
        if let (Some(f), Some(u), Some(us)) = (f, u, until.as_ref()) {
            if f > u {
                let lang = self.lang;
                self.error(
                    us.span(),
                    tr!(
                        lang,
                        "khoảng ngày rỗng: ngày kết thúc {u} trước ngày bắt đầu {f}",
                        "empty date range: the end {u} comes before the start {f}"
                    ),
                );
            }
        }
        (f, u)
    }

    /// A relay slot's `relay`, `minutes` and `fallback`, checked together.
    fn relay(
        &mut self,
        rs: &RawSlot,
        ctx: &Context<'_>,
        slot_span: std::ops::Range<usize>,
    ) -> Option<RelaySlot> {
        let lang = self.lang;
        let Some(r) = &rs.relay else {
            for span in [
                rs.minutes.as_ref().map(toml::Spanned::span),
                rs.fallback.as_ref().map(toml::Spanned::span),
            ]
            .into_iter()
            .flatten()
            {
                self.error(
                    span,
                    lang.pick(
                        "`minutes` và `fallback` là của phiên tiếp sóng: cần đi cùng `relay`",
                        "`minutes` and `fallback` belong to a relay slot: they need a `relay`",
                    )
                    .into(),
                );
            }
            return None;
        };
        for span in [
            rs.play.first().map(toml::Spanned::span),
            rs.queue.as_ref().map(toml::Spanned::span),
        ]
        .into_iter()
        .flatten()
        {
            self.error(
                span,
                lang.pick(
                    "phiên tiếp sóng phát nguồn của nó, không phát `play` hay `queue` (được dùng `intro`, `outro` và `fallback`)",
                    "a relay slot airs its source, not `play` or `queue` (`intro`, `outro` and `fallback` are allowed)",
                )
                .into(),
            );
        }
        let source = match crate::relay::Source::parse(r.get_ref(), lang) {
            Ok(s) => Some(s),
            Err(msg) => {
                self.error(r.span(), msg);
                None
            }
        };
        let minutes = match &rs.minutes {
            None => {
                self.error(
                    slot_span.start..slot_span.start + 7,
                    lang.pick(
                        "phiên tiếp sóng cần `minutes = N`: tiếp sóng bao nhiêu phút",
                        "a relay slot needs `minutes = N`: how many minutes to relay",
                    )
                    .into(),
                );
                None
            }
            Some(m) if (0.1..=1440.0).contains(m.get_ref()) => {
                Some((m.get_ref() * 60_000.0).round() as u64)
            }
            Some(m) => {
                self.error(
                    m.span(),
                    lang.pick(
                        "`minutes` phải từ 0.1 đến 1440",
                        "`minutes` must be from 0.1 to 1440",
                    )
                    .into(),
                );
                None
            }
        };
        let mut fallback = Vec::new();
        for f in rs.fallback.iter().flat_map(toml::Spanned::get_ref) {
            if let Some(folder) = f.get_ref().strip_suffix('/') {
                match library::check_relative(folder) {
                    Ok(folder) => {
                        if let Some(audio) = ctx.audio_dir {
                            if !library::resolve(audio, &folder).is_some_and(|p| p.is_dir()) {
                                self.error(
                                    f.span(),
                                    tr!(
                                        lang,
                                        "không có thư mục «{folder}» trong {}",
                                        "no folder “{folder}” in {}",
                                        audio.display()
                                    ),
                                );
                            }
                        }
                        fallback.push(FallbackRef::Folder(folder));
                    }
                    Err(_) => self.error(
                        f.span(),
                        tr!(
                            lang,
                            "«{}» phải là một thư mục bên trong audio/",
                            "“{}” must be a folder inside audio/",
                            f.get_ref()
                        ),
                    ),
                }
            } else if let Some(c) = self.clip(f, ctx) {
                fallback.push(FallbackRef::Clip(c));
            }
        }
        Some(RelaySlot {
            source: source?,
            text: r.get_ref().trim().to_string(),
            duration_ms: minutes?,
            fallback,
            until: None,
        })
    }

    fn clip(&mut self, v: &Spanned<String>, ctx: &Context<'_>) -> Option<ClipRef> {
        let lang = self.lang;
        let rel = match library::check_relative(v.get_ref()) {
            Ok(rel) => rel,
            Err(problem) => {
                let msg = match problem {
                    PathProblem::Absolute => tr!(
                        lang,
                        "đường dẫn «{}» phải nằm trong thư mục audio/ (viết tương đối, ví dụ \"ban-tin/so-1.mp3\")",
                        "path “{}” must be inside the audio/ folder (write it relative, e.g. \"ban-tin/so-1.mp3\")",
                        v.get_ref()
                    ),
                    PathProblem::Escapes => tr!(
                        lang,
                        "đường dẫn «{}» ra ngoài thư mục audio/",
                        "path “{}” escapes the audio/ folder",
                        v.get_ref()
                    ),
                    PathProblem::Empty => lang.pick("đường dẫn rỗng", "empty path").to_string(),
                };
                self.error(v.span(), msg);
                return None;
            }
        };
        if let Some(audio) = ctx.audio_dir {
            match library::resolve(audio, &rel).filter(|p| p.is_file()) {
                None => self.error(
                    v.span(),
                    tr!(
                        lang,
                        "không có tệp «{rel}» trong {}",
                        "no file “{rel}” in {}",
                        audio.display()
                    ),
                ),
                Some(path) => {
                    if let Some(why) = library::refusal(audio, &path, lang) {
                        self.error(v.span(), tr!(lang, "«{rel}»: {why}", "“{rel}”: {why}"));
                    } else if let Some(probes) = ctx.probes {
                        match probes.probe(&path) {
                            Err(e) => self.error(
                                v.span(),
                                tr!(lang, "«{rel}»: {}", "“{rel}”: {}", e.reason(lang)),
                            ),
                            Ok(info) => {
                                let problem =
                                    ctx.loudness.and_then(|l| loudness_problem(&info, l, lang));
                                if let Some(problem) = problem {
                                    self.warning(
                                        v.span(),
                                        tr!(lang, "«{rel}»: {problem}", "“{rel}”: {problem}"),
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
        Some(ClipRef { rel, topic: None })
    }

    fn play_item(
        &mut self,
        v: &Spanned<PlayItem>,
        plan: &Plan,
        ctx: &Context<'_>,
    ) -> Option<ClipRef> {
        let (file, topic) = match v.get_ref() {
            PlayItem::File(f) => (f.clone(), None),
            PlayItem::Detailed(c) => (c.file.clone(), c.topic.clone()),
        };
        if let Some(t) = &topic {
            self.check_topic(t, v.span(), plan);
        }
        let clip = self.clip(&Spanned::new(v.span(), file), ctx)?;
        Some(ClipRef { topic, ..clip })
    }

    fn check_topic(&mut self, topic: &str, span: Range<usize>, plan: &Plan) {
        if !plan.topics.contains_key(topic) {
            let lang = self.lang;
            let known = plan.topics.keys().cloned().collect::<Vec<_>>().join(", ");
            self.error(
                span,
                tr!(
                    lang,
                    "chủ đề «{topic}» chưa khai báo trong [topics] (đã có: {known})",
                    "topic “{topic}” is not declared in [topics] (declared: {known})"
                ),
            );
        }
    }
}

/// Whether a clip's loudness is too far from the station's target (or silent), in words.
pub fn loudness_problem(
    info: &library::ClipInfo,
    (target, margin): (f64, f64),
    lang: Lang,
) -> Option<String> {
    match info.loudness_lufs {
        // Too short to gate (under 0.4 s) is not silence: only the peak can say that.
        None if info.peak_dbfs.get() > -60.0 => None,
        None => Some(lang.pick("tệp không có tiếng (im lặng)", "the file is silent").to_string()),
        Some(l) if (l.get() - target).abs() > margin => Some(tr!(
            lang,
            "độ to {:.1} LUFS, lệch {:+.1} LU so với mức chuẩn {target} LUFS của đài (cho phép ±{margin})",
            "loudness {:.1} LUFS is {:+.1} LU from the station's {target} LUFS target (margin ±{margin})",
            l.get(),
            l.get() - target
        )),
        Some(_) => None,
    }
}

pub(super) fn parse_time(s: &str) -> Option<NaiveTime> {
    let s = s.trim();
    let parts: Vec<&str> = s.split(':').collect();
    if !(2..=3).contains(&parts.len())
        || parts
            .iter()
            .any(|p| p.len() != 2 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let n = |i: usize| parts.get(i).map_or(0, |p| p.parse::<u32>().unwrap_or(99));
    NaiveTime::from_hms_opt(n(0), n(1), n(2))
}

pub(super) fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Parses and validates one schedule file. Errors and warnings are both returned;
/// the schedule is usable only if no diagnostic is an error.
pub fn parse(
    file: &Path,
    text: &str,
    ctx: &Context<'_>,
    first_order: usize,
) -> (Option<Schedule>, Vec<Diagnostic>) {
    let lang = ctx.lang;
    let raw: RawSchedule = match toml::from_str(text) {
        Ok(r) => r,
        Err(e) => return (None, vec![from_toml_error(file, text, &e, lang)]),
    };
    let mut c = Checker {
        file,
        text,
        lang,
        problems: Vec::new(),
    };

    let rp = raw.plan.get_ref();
    if !valid_id(rp.id.get_ref()) {
        c.error(
            rp.id.span(),
            tr!(
                lang,
                "mã kế hoạch «{}» không hợp lệ: chỉ dùng chữ thường không dấu, số, '-' và '_'",
                "plan id “{}” is invalid: use lower-case ASCII letters, digits, '-' and '_'",
                rp.id.get_ref()
            ),
        );
    }
    if rp.title.get_ref().trim().is_empty() {
        c.error(
            rp.title.span(),
            lang.pick("tên kế hoạch đang để trống", "the plan title is empty")
                .into(),
        );
    }
    let (valid_from, valid_until) = c.range(&rp.valid_from, &rp.valid_until);
    let mut topics = BTreeMap::new();
    for (k, v) in &raw.topics {
        if v.get_ref().trim().is_empty() {
            c.error(
                v.span(),
                tr!(
                    lang,
                    "chủ đề «{k}» chưa có mô tả",
                    "topic “{k}” has no description"
                ),
            );
        }
        topics.insert(k.clone(), v.get_ref().clone());
    }
    let plan = Plan {
        id: rp.id.get_ref().clone(),
        title: rp.title.get_ref().clone(),
        document: rp
            .document
            .as_ref()
            .map(|d| d.get_ref().clone())
            .unwrap_or_default(),
        valid_from,
        valid_until,
        topics,
    };
    if raw.slot.is_empty() {
        c.warning(
            raw.plan.span(),
            lang.pick(
                "kế hoạch chưa có phiên phát nào ([[slot]])",
                "the plan has no slots ([[slot]])",
            )
            .into(),
        );
    }

    let mut seen: HashMap<String, Range<usize>> = HashMap::new();
    let mut slots = Vec::new();
    for (i, rs) in raw.slot.iter().enumerate() {
        let slot_span = rs.span();
        let rs = rs.get_ref();
        let id = rs.id.get_ref().clone();
        if !valid_id(&id) {
            c.error(
                rs.id.span(),
                tr!(
                    lang,
                    "mã phiên «{id}» không hợp lệ: chỉ dùng chữ thường không dấu, số, '-' và '_'",
                    "slot id “{id}” is invalid: use lower-case ASCII letters, digits, '-' and '_'"
                ),
            );
        }
        if let Some(prev) = seen.get(&id) {
            let (line, _) = line_col(text, prev.start);
            c.error(
                rs.id.span(),
                tr!(
                    lang,
                    "mã phiên «{id}» bị trùng (đã dùng ở dòng {line})",
                    "duplicate slot id “{id}” (already used on line {line})"
                ),
            );
        } else {
            seen.insert(id.clone(), rs.id.span());
        }

        let when = match (&rs.at, &rs.cron) {
            (Some(_), Some(cron)) => {
                c.error(
                    cron.span(),
                    lang.pick(
                        "chỉ dùng một trong hai: `at` (giờ phát) hoặc `cron`",
                        "use either `at` (times of day) or `cron`, not both",
                    )
                    .into(),
                );
                None
            }
            (None, None) => {
                c.error(
                    slot_span.start..slot_span.start + 7,
                    tr!(
                        lang,
                        "phiên «{id}» chưa có giờ phát: thêm `at = [\"06:00\"]` hoặc `cron`",
                        "slot “{id}” has no time: add `at = [\"06:00\"]` or `cron`"
                    ),
                );
                None
            }
            (Some(at), None) => {
                let mut times = Vec::new();
                if at.get_ref().is_empty() {
                    c.error(
                        at.span(),
                        lang.pick(
                            "danh sách giờ phát đang trống",
                            "the list of times is empty",
                        )
                        .into(),
                    );
                }
                for t in at.get_ref() {
                    match parse_time(t.get_ref()) {
                        Some(time) => {
                            if times.contains(&time) {
                                c.warning(t.span(), tr!(lang, "giờ «{}» bị lặp lại", "time “{}” is repeated", t.get_ref()));
                            } else {
                                times.push(time);
                            }
                        }
                        None => c.error(
                            t.span(),
                            tr!(
                                lang,
                                "giờ không hợp lệ «{}»: dùng dạng GIỜ:PHÚT 24 giờ, ví dụ \"06:00\" hoặc \"17:30\"",
                                "invalid time “{}”: use 24-hour HH:MM, for example \"06:00\" or \"17:30\"",
                                t.get_ref()
                            ),
                        ),
                    }
                }
                times.sort();
                let days = match &rs.days {
                    None => Some(Days::ALL),
                    Some(v) => parse_days(&mut c, v),
                };
                days.map(|days| When::Times { at: times, days })
            }
            (None, Some(cron)) => {
                if rs.days.is_some() {
                    c.error(
                        rs.days.as_ref().map(toml::Spanned::span).unwrap_or(0..0),
                        lang.pick(
                            "`days` không dùng cùng `cron`: ghi ngày trong mẫu cron",
                            "`days` does not combine with `cron`: put the days in the cron pattern",
                        )
                        .into(),
                    );
                }
                let parser = croner::parser::CronParser::builder()
                    .seconds(croner::parser::Seconds::Optional)
                    .build();
                match parser.parse(cron.get_ref()) {
                    Ok(parsed) => Some(When::Cron {
                        pattern: cron.get_ref().clone(),
                        cron: Box::new(parsed),
                    }),
                    Err(e) => {
                        c.error(
                            cron.span(),
                            tr!(
                                lang,
                                "mẫu cron không hợp lệ: {e}",
                                "invalid cron pattern: {e}"
                            ),
                        );
                        None
                    }
                }
            }
        };

        let (from, until) = c.range(&rs.from, &rs.until);
        // The slot's own dates narrow the plan's.
        let from = match (from, plan.valid_from) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let until = match (until, plan.valid_until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let (Some(f), Some(u)) = (from, until) {
            if f > u && (rs.from.is_some() || rs.until.is_some()) {
                let span = rs
                    .from
                    .as_ref()
                    .or(rs.until.as_ref())
                    .map(toml::Spanned::span)
                    .unwrap_or(slot_span.clone());
                c.error(
                    span,
                    tr!(
                        lang,
                        "phiên «{id}» không có ngày nào nằm trong thời hạn của kế hoạch",
                        "slot “{id}” has no date within the plan's validity"
                    ),
                );
            }
        }
        let mut except = BTreeSet::new();
        for e in &rs.except {
            if let Some(d) = c.date(e) {
                except.insert(d);
            }
        }

        let topic = rs.topic.as_ref().map(|t| {
            c.check_topic(t.get_ref(), t.span(), &plan);
            t.get_ref().clone()
        });
        let priority = match &rs.priority {
            None => Priority::Normal,
            Some(p) => Priority::parse(p.get_ref()).unwrap_or_else(|| {
                c.error(
                    p.span(),
                    tr!(
                        lang,
                        "mức ưu tiên không hợp lệ «{}»: dùng \"normal\" (thông thường), \"priority\" (ưu tiên) hoặc \"emergency\" (khẩn cấp)",
                        "invalid priority “{}”: use \"normal\", \"priority\" or \"emergency\"",
                        p.get_ref()
                    ),
                );
                Priority::Normal
            }),
        };

        let intro = rs.intro.as_ref().and_then(|v| c.clip(v, ctx));
        let outro = rs.outro.as_ref().and_then(|v| c.clip(v, ctx));
        let play: Vec<ClipRef> = rs
            .play
            .iter()
            .filter_map(|v| c.play_item(v, &plan, ctx))
            .collect();
        let queue = match &rs.queue {
            None => {
                if let Some(t) = &rs.take {
                    c.error(
                        t.span(),
                        lang.pick("`take` cần đi cùng `queue`", "`take` needs a `queue`")
                            .into(),
                    );
                }
                for span in [
                    rs.mode.as_ref().map(toml::Spanned::span),
                    rs.times.as_ref().map(toml::Spanned::span),
                ]
                .into_iter()
                .flatten()
                {
                    c.error(
                        span,
                        lang.pick(
                            "`mode` và `times` là cách phát của một hàng đợi: cần đi cùng `queue`",
                            "`mode` and `times` say how a queue airs: they need a `queue`",
                        )
                        .into(),
                    );
                }
                None
            }
            Some(q) => {
                let take = match &rs.take {
                    None => 1,
                    Some(t) if (1..=100).contains(t.get_ref()) => *t.get_ref() as usize,
                    Some(t) => {
                        c.error(
                            t.span(),
                            lang.pick(
                                "`take` phải là số từ 1 đến 100",
                                "`take` must be a number from 1 to 100",
                            )
                            .into(),
                        );
                        1
                    }
                };
                match library::check_relative(q.get_ref()) {
                    Err(_) => {
                        c.error(
                            q.span(),
                            tr!(
                                lang,
                                "hàng đợi «{}» phải là một thư mục bên trong audio/",
                                "queue “{}” must be a folder inside audio/",
                                q.get_ref()
                            ),
                        );
                        None
                    }
                    Ok(folder) => {
                        if let Some(audio) = ctx.audio_dir {
                            if !library::resolve(audio, &folder).is_some_and(|p| p.is_dir()) {
                                c.error(
                                    q.span(),
                                    tr!(
                                        lang,
                                        "không có thư mục hàng đợi «{folder}» trong {}",
                                        "no queue folder “{folder}” in {}",
                                        audio.display()
                                    ),
                                );
                            }
                        }
                        let mode = match crate::sidecar::slot_mode(
                            c.file,
                            c.text,
                            lang,
                            rs.mode.as_ref(),
                            rs.times.as_ref(),
                        ) {
                            Ok(m) => m,
                            Err(errors) => {
                                c.problems.extend(errors);
                                None
                            }
                        };
                        Some(QueueRef { folder, take, mode })
                    }
                }
            }
        };
        let relay = c.relay(rs, ctx, slot_span.clone());
        if relay.is_none()
            && rs.relay.is_none()
            && play.is_empty()
            && queue.is_none()
            && rs.play.is_empty()
            && rs.queue.is_none()
        {
            c.error(
                slot_span.start..slot_span.start + 7,
                tr!(
                    lang,
                    "phiên «{id}» không có gì để phát: thêm `play = [...]`, `queue` hoặc `relay`",
                    "slot “{id}” has nothing to play: add `play = [...]`, `queue` or `relay`"
                ),
            );
        }
        let max_minutes = match &rs.max_minutes {
            None => None,
            Some(m) if (1..=1440).contains(m.get_ref()) => Some(*m.get_ref() as u32),
            Some(m) => {
                c.error(
                    m.span(),
                    lang.pick(
                        "`max_minutes` phải từ 1 đến 1440",
                        "`max_minutes` must be from 1 to 1440",
                    )
                    .into(),
                );
                None
            }
        };
        let volume = match &rs.volume {
            None => 1.0,
            Some(v) if (0.0..=2.0).contains(v.get_ref()) => *v.get_ref() as f32,
            Some(v) => {
                c.error(
                    v.span(),
                    lang.pick(
                        "`volume` phải từ 0.0 đến 2.0 (1.0 là giữ nguyên)",
                        "`volume` must be from 0.0 to 2.0 (1.0 leaves clips as they are)",
                    )
                    .into(),
                );
                1.0
            }
        };

        if let (Some(g), Some(at)) = (ctx.guards, &rs.at) {
            if priority < Priority::Emergency {
                for t in at.get_ref() {
                    if parse_time(t.get_ref()).is_some_and(|x| g.is_quiet(x)) {
                        c.warning(
                            t.span(),
                            tr!(
                                lang,
                                "giờ {} nằm trong giờ yên tĩnh của đài ({}): phiên này sẽ không được phát",
                                "{} falls in the station's quiet hours ({}): this session will not air",
                                t.get_ref(),
                                g.quiet_text()
                            ),
                        );
                    }
                }
            }
        }
        if let (Some(max), Some(m)) = (
            ctx.guards.and_then(|g| g.max_session_minutes),
            &rs.max_minutes,
        ) {
            if *m.get_ref() > i64::from(max) {
                c.warning(
                    m.span(),
                    tr!(
                        lang,
                        "dài hơn giới hạn {max} phút mỗi phiên của đài: phiên sẽ bị cắt bớt",
                        "longer than the station's {max}-minute limit: the session will be trimmed"
                    ),
                );
            }
        }
        if let Some(when) = when {
            slots.push(Slot {
                plan: plan.id.clone(),
                id,
                title: rs
                    .title
                    .as_ref()
                    .map_or_else(|| rs.id.get_ref().clone(), |t| t.get_ref().clone()),
                when,
                from,
                until,
                except,
                topic,
                priority,
                intro,
                play,
                queue,
                outro,
                max_minutes,
                volume,
                relay,
                order: first_order + i,
            });
        }
    }

    if let Some(max) = ctx.guards.and_then(|g| g.max_sessions_per_day) {
        for day in [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ] {
            let planned: usize = slots
                .iter()
                .filter(|s| s.priority < Priority::Emergency)
                .map(|s| match &s.when {
                    When::Times { at, days } if days.contains(day) => at.len(),
                    _ => 0,
                })
                .sum();
            if planned > max as usize {
                let vi = [
                    "thứ Hai",
                    "thứ Ba",
                    "thứ Tư",
                    "thứ Năm",
                    "thứ Sáu",
                    "thứ Bảy",
                    "Chủ nhật",
                ];
                let name = match lang {
                    Lang::Vi => vi[day.num_days_from_monday() as usize].to_string(),
                    Lang::En => format!("{day}"),
                };
                c.warning(
                    raw.plan.span(),
                    tr!(
                        lang,
                        "{planned} phiên vào {name}, nhiều hơn giới hạn {max} phiên mỗi ngày của đài: các phiên sau sẽ không được phát",
                        "{planned} sessions on {name}, more than the station's limit of {max} a day: the later ones will not air"
                    ),
                );
                break;
            }
        }
    }
    let failed = c.problems.iter().any(Diagnostic::is_error);
    let schedule = (!failed).then(|| Schedule {
        file: file.to_path_buf(),
        sha256: crate::hex::hex(&Sha256::digest(text.as_bytes())),
        text: text.to_string(),
        plan,
        slots,
    });
    (schedule, c.problems)
}

pub(super) fn parse_days(c: &mut Checker<'_>, v: &Spanned<Value>) -> Option<Days> {
    let lang = c.lang;
    let items: Vec<String> = match v.get_ref() {
        Value::String(s) => s.split(',').map(str::to_string).collect(),
        Value::Array(a) => a
            .iter()
            .map(|x| x.as_str().map(str::to_string).unwrap_or_default())
            .collect(),
        _ => vec![String::new()],
    };
    let mut days = Days(0);
    let mut ok = true;
    for item in &items {
        match Days::parse_item(item) {
            Some(d) => days = Days(days.0 | d.0),
            None => {
                ok = false;
                c.error(
                    v.span(),
                    tr!(
                        lang,
                        "ngày trong tuần không hợp lệ «{item}»: dùng \"daily\", \"weekdays\", \"mon-sat\", hoặc danh sách như [\"mon\", \"wed\"] (hoặc t2…t7, cn)",
                        "unknown day “{item}”: use \"daily\", \"weekdays\", \"mon-sat\", or a list such as [\"mon\", \"wed\"]"
                    ),
                );
            }
        }
    }
    (ok && days.0 != 0).then_some(days)
}

pub(super) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let d = Diagnostic::error(Path::new(""), text, offset..offset, "");
    (d.line, d.col)
}
