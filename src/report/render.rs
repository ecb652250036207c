//! The report in every format: text, CSV, JSON, HTML in the Nghị định 30/2020 layout, XLSX;
//! and the NĐ 30 head the province's report shares.

use super::*;

pub(super) fn pct(p: Option<f64>) -> String {
    p.map_or_else(|| "—".into(), |p| format!("{p:.1}%"))
}

impl Report {
    fn l(&self, vi: &'static str, en: &'static str) -> &'static str {
        self.lang.pick(vi, en)
    }

    /// Relay columns appear only in a report whose period had relays: a station without
    /// them (and every report made before relays existed) reads as it always did.
    fn has_relays(&self) -> bool {
        self.totals.relays > 0 || self.totals.relay_minutes > 0.0
    }

    fn count_headers(&self) -> Vec<&'static str> {
        let mut h = vec![
            self.l("Kế hoạch", "Planned"),
            self.l("Phát đủ", "In full"),
            self.l("Không trọn", "Partial"),
            self.l("Thất bại", "Failed"),
            self.l("Bị lỡ", "Missed"),
            self.l("Bị ngắt", "Interrupted"),
            self.l("Chưa xong", "Unfinished"),
            self.l("Hoàn thành", "Completion"),
            self.l("Phút đã phát", "Minutes aired"),
        ];
        if self.has_relays() {
            h.extend([
                self.l("Tiếp sóng đủ", "Relays in full"),
                self.l("Phút tiếp sóng", "Relay minutes"),
            ]);
        }
        h
    }

    fn count_cells(&self, c: &Counts) -> Vec<String> {
        let mut v = vec![
            c.planned.to_string(),
            c.completed.to_string(),
            c.partial.to_string(),
            c.failed.to_string(),
            c.missed.to_string(),
            c.interrupted.to_string(),
            c.unfinished.to_string(),
            pct(c.completion_percent()),
            format!("{:.1}", c.minutes_aired),
        ];
        if self.has_relays() {
            v.extend([c.relays.to_string(), format!("{:.1}", c.relay_minutes)]);
        }
        v
    }

    fn score_text(&self) -> String {
        match (self.completion_percent, self.index_score) {
            (Some(p), Some(s)) => tr!(
                self.lang,
                "Tỷ lệ hoàn thành kế hoạch: {p:.1}% — điểm tiêu chí tuyên truyền CCHC: {s:.2}/1 (100% được 1 điểm; từ 90% tính theo tỷ lệ; dưới 90% không có điểm)",
                "Plan completion: {p:.1}% — CCHC propaganda criterion score: {s:.2}/1 (100% scores 1; from 90% pro rata; under 90% scores 0)"
            ),
            _ => self.l("Không có lần phát nào theo kế hoạch trong kỳ", "Nothing was planned in this period").to_string(),
        }
    }

    fn chain_text(&self) -> String {
        tr!(
            self.lang,
            "Nhật ký: {} sự kiện, mã băm cuối {} (kiểm tra: loaxa log verify --pin {}:{})",
            "Journal: {} events, head {} (check: loaxa log verify --pin {}:{})",
            self.chain.events,
            self.chain.head,
            self.chain.events,
            self.chain.head
        )
    }

    fn coverage_note(&self) -> Option<String> {
        let until = self.journal_until?;
        let (_, end) = Period::Days {
            from: self.from,
            to: self.to,
        }
        .bounds(self.tz);
        (until < end).then(|| {
            tr!(
                self.lang,
                "Lưu ý: nhật ký ghi đến {}; các lần phát sau thời điểm đó chưa được đối soát trong báo cáo này.",
                "Note: the journal runs to {}; occurrences after that are not yet accounted in this report.",
                until.with_timezone(&self.tz).format("%Y-%m-%d %H:%M:%S")
            )
        })
    }

    fn title(&self) -> String {
        tr!(
            self.lang,
            "BÁO CÁO KẾT QUẢ PHÁT SÓNG TUYÊN TRUYỀN — {}",
            "BROADCAST REPORT — {}",
            self.period
        )
    }

    /// A plain-text report for the terminal.
    pub fn to_text(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "{}\n{}", self.title(), self.station);
        let _ = writeln!(
            o,
            "{}: {} – {} ({})",
            self.l("Kỳ báo cáo", "Period"),
            self.from.format("%d/%m/%Y"),
            self.to.format("%d/%m/%Y"),
            self.timezone
        );
        let _ = writeln!(
            o,
            "{}: {}",
            self.l("Lập lúc", "Generated"),
            self.generated_at
                .with_timezone(&self.tz)
                .format("%Y-%m-%d %H:%M:%S")
        );
        let _ = writeln!(o, "{}", self.chain_text());
        if let Some(sent) = &self.sent {
            let _ = writeln!(o, "{}: {sent}", self.lang.pick("Gửi lên tỉnh", "Province"));
        }
        for p in &self.plans {
            let _ = writeln!(o, "\n{} ({})", p.title, p.id);
            if !p.document.is_empty() {
                let _ = writeln!(o, "{}", p.document);
            }
            for (heading, rows) in [
                (
                    self.l("Theo nội dung (chủ đề)", "By plan item (topic)"),
                    &p.topics,
                ),
                (self.l("Theo phiên phát", "By slot"), &p.slots),
            ] {
                let _ = writeln!(o, "\n{heading}");
                let mut header = vec![self.l("Mục", "Item")];
                header.extend(self.count_headers());
                let mut table: Vec<Vec<String>> = rows
                    .iter()
                    .map(|r| {
                        let mut v = vec![format!("{} {}", r.key, r.title).trim().to_string()];
                        v.extend(self.count_cells(&r.counts));
                        v
                    })
                    .collect();
                let mut total = vec![self.l("Cộng", "Total").to_string()];
                total.extend(self.count_cells(&p.totals));
                table.push(total);
                o.push_str(&text_table(&header, &table));
            }
        }
        let _ = writeln!(o, "\n{}", self.score_text());
        if let Some(n) = self.coverage_note() {
            let _ = writeln!(o, "{n}");
        }
        let _ = writeln!(
            o,
            "\n{} ({})",
            self.l("Các lần không phát đủ", "Occurrences not aired in full"),
            self.shortfalls.len()
        );
        if !self.shortfalls.is_empty() {
            let rows: Vec<Vec<String>> = self
                .shortfalls
                .iter()
                .map(|s| {
                    vec![
                        s.scheduled.clone(),
                        format!("{}/{}", s.plan, s.slot),
                        s.outcome.clone(),
                        s.reason.clone(),
                    ]
                })
                .collect();
            o.push_str(&text_table(
                &[
                    self.l("Giờ", "Scheduled"),
                    self.l("Phiên", "Slot"),
                    self.l("Kết quả", "Outcome"),
                    self.l("Lý do", "Reason"),
                ],
                &rows,
            ));
        }
        let _ = writeln!(
            o,
            "\n{} ({})",
            self.l("Các bài đã phát", "Clips aired"),
            self.clips.len()
        );
        let rows: Vec<Vec<String>> = self
            .clips
            .iter()
            .map(|c| {
                vec![
                    c.clip.clone(),
                    c.topic.clone(),
                    c.times_aired.to_string(),
                    format!("{:.1}", c.minutes),
                    c.sha256_prefix.clone(),
                    if c.dead_air > 0 {
                        tr!(self.lang, "{} lần câm", "{} dead air", c.dead_air)
                    } else {
                        String::new()
                    },
                ]
            })
            .collect();
        o.push_str(&text_table(
            &[
                self.l("Tệp", "File"),
                self.l("Chủ đề", "Topic"),
                self.l("Số lần", "Times"),
                self.l("Phút", "Minutes"),
                "SHA-256",
                self.l("Cảnh báo", "Warning"),
            ],
            &rows,
        ));
        o
    }

    /// CSV: sections one after another, each with its header row. Reproducible: no
    /// generation time.
    pub fn to_csv(&self) -> String {
        let mut o = String::new();
        let line = |o: &mut String, cells: &[String]| csv_line(o, cells);
        line(&mut o, &["section".into(), "key".into(), "value".into()]);
        for (k, v) in [
            ("station", self.station.clone()),
            ("period", self.period.clone()),
            ("from", self.from.to_string()),
            ("to", self.to.to_string()),
            ("timezone", self.timezone.clone()),
            ("journal_events", self.chain.events.to_string()),
            ("journal_head", self.chain.head.clone()),
            ("completion_percent", pct(self.completion_percent)),
            (
                "index_score",
                self.index_score
                    .map(|s| format!("{s:.3}"))
                    .unwrap_or_default(),
            ),
        ] {
            line(&mut o, &["header".into(), k.into(), v]);
        }
        let _ = writeln!(o);
        let mut count_cols = vec!["planned"];
        count_cols.extend(Outcome::CODES);
        count_cols.extend(["completion_percent", "minutes_aired"]);
        if self.has_relays() {
            count_cols.extend(["relays", "relay_minutes"]);
        }
        let mut header = vec![
            "section".to_string(),
            "plan".into(),
            "key".into(),
            "title".into(),
        ];
        header.extend(count_cols.iter().map(std::string::ToString::to_string));
        line(&mut o, &header);
        for p in &self.plans {
            for (section, rows) in [("topic", &p.topics), ("slot", &p.slots)] {
                for r in rows {
                    let mut v = vec![
                        section.to_string(),
                        p.id.clone(),
                        r.key.clone(),
                        r.title.clone(),
                    ];
                    v.extend(self.count_cells(&r.counts));
                    line(&mut o, &v);
                }
            }
            let mut v = vec![
                "plan_total".to_string(),
                p.id.clone(),
                String::new(),
                p.title.clone(),
            ];
            v.extend(self.count_cells(&p.totals));
            line(&mut o, &v);
        }
        let mut v = vec![
            "total".to_string(),
            String::new(),
            String::new(),
            String::new(),
        ];
        v.extend(self.count_cells(&self.totals));
        line(&mut o, &v);
        let _ = writeln!(o);
        line(
            &mut o,
            &[
                "section".into(),
                "scheduled".into(),
                "plan".into(),
                "slot".into(),
                "title".into(),
                "outcome".into(),
                "reason".into(),
            ],
        );
        for s in &self.shortfalls {
            line(
                &mut o,
                &[
                    "shortfall".into(),
                    s.scheduled.clone(),
                    s.plan.clone(),
                    s.slot.clone(),
                    s.title.clone(),
                    s.outcome.clone(),
                    s.reason.clone(),
                ],
            );
        }
        let _ = writeln!(o);
        line(
            &mut o,
            &[
                "section".into(),
                "clip".into(),
                "topic".into(),
                "times_aired".into(),
                "minutes".into(),
                "sha256_prefix".into(),
                "dead_air".into(),
            ],
        );
        for c in &self.clips {
            line(
                &mut o,
                &[
                    "clip".into(),
                    c.clip.clone(),
                    c.topic.clone(),
                    c.times_aired.to_string(),
                    format!("{:.1}", c.minutes),
                    c.sha256_prefix.clone(),
                    c.dead_air.to_string(),
                ],
            );
        }
        o
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// One self-contained, printable A4 page: inline CSS, no external assets.
    pub fn to_html(&self) -> String {
        let e = html_escape;
        let mut o = String::new();
        nd30_head(&mut o, self.lang, &self.station, &self.title());
        let _ = writeln!(o, "<h1>{}</h1>", e(&self.title()));
        let _ = writeln!(
            o,
            "<p class=\"center meta\">{}: {} – {} ({}) · {}: {}</p>",
            e(self.l("Kỳ báo cáo", "Period")),
            self.from.format("%d/%m/%Y"),
            self.to.format("%d/%m/%Y"),
            e(&self.timezone),
            e(self.l("Lập lúc", "Generated")),
            self.generated_at
                .with_timezone(&self.tz)
                .format("%d/%m/%Y %H:%M")
        );
        for p in &self.plans {
            let _ = writeln!(o, "<h2>{}</h2>", e(&p.title));
            if !p.document.is_empty() {
                let _ = writeln!(
                    o,
                    "<p class=\"meta\">{}: {}</p>",
                    e(self.l("Căn cứ", "Implements")),
                    e(&p.document)
                );
            }
            for (heading, rows) in [
                (
                    self.l(
                        "1. Theo nội dung tuyên truyền (mục III.1)",
                        "1. By plan item (section III.1)",
                    ),
                    &p.topics,
                ),
                (self.l("2. Theo phiên phát", "2. By slot"), &p.slots),
            ] {
                let _ = writeln!(
                    o,
                    "<h3>{}</h3><table><tr><th>{}</th>",
                    e(heading),
                    e(self.l("Mục", "Item"))
                );
                for h in self.count_headers() {
                    let _ = write!(o, "<th>{}</th>", e(h));
                }
                let _ = writeln!(o, "</tr>");
                for r in rows {
                    let _ = write!(o, "<tr><td>{} {}</td>", e(&r.key), e(&r.title));
                    for c in self.count_cells(&r.counts) {
                        let _ = write!(o, "<td class=\"n\">{}</td>", e(&c));
                    }
                    let _ = writeln!(o, "</tr>");
                }
                let _ = write!(
                    o,
                    "<tr class=\"total\"><td>{}</td>",
                    e(self.l("Cộng", "Total"))
                );
                for c in self.count_cells(&p.totals) {
                    let _ = write!(o, "<td class=\"n\">{}</td>", e(&c));
                }
                let _ = writeln!(o, "</tr></table>");
            }
        }
        let _ = writeln!(o, "<p class=\"score\">{}</p>", e(&self.score_text()));
        if let Some(n) = self.coverage_note() {
            let _ = writeln!(o, "<p class=\"warn\">{}</p>", e(&n));
        }
        let _ = writeln!(
            o,
            "<h2>{} ({})</h2>",
            e(self.l(
                "3. Các lần không phát đủ",
                "3. Occurrences not aired in full"
            )),
            self.shortfalls.len()
        );
        if self.shortfalls.is_empty() {
            let _ = writeln!(o, "<p>{}</p>", e(self.l("Không có.", "None.")));
        } else {
            let _ = writeln!(
                o,
                "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
                e(self.l("Giờ theo lịch", "Scheduled")),
                e(self.l("Phiên", "Slot")),
                e(self.l("Kết quả", "Outcome")),
                e(self.l("Lý do", "Reason"))
            );
            for s in &self.shortfalls {
                let _ = writeln!(
                    o,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    e(&s.scheduled),
                    e(&s.title),
                    e(&s.outcome),
                    e(&s.reason)
                );
            }
            let _ = writeln!(o, "</table>");
        }
        let _ = writeln!(
            o,
            "<h2>{} ({})</h2>",
            e(self.l("4. Các bài đã phát", "4. Clips aired")),
            self.clips.len()
        );
        let _ = writeln!(
            o,
            "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>SHA-256</th></tr>",
            e(self.l("Tệp", "File")),
            e(self.l("Chủ đề", "Topic")),
            e(self.l("Số lần phát đủ", "Times aired")),
            e(self.l("Phút", "Minutes"))
        );
        for c in &self.clips {
            let warn = if c.dead_air > 0 {
                format!(
                    " <span class=\"warn\">({})</span>",
                    e(&tr!(
                        self.lang,
                        "{} lần phát câm",
                        "{} dead-air airing(s)",
                        c.dead_air
                    ))
                )
            } else {
                String::new()
            };
            let _ = writeln!(
                o,
                "<tr><td>{}{warn}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{:.1}</td><td class=\"hash\">{}</td></tr>",
                e(&c.clip),
                e(&c.topic),
                c.times_aired,
                c.minutes,
                e(&c.sha256_prefix)
            );
        }
        let _ = writeln!(o, "</table>");
        let _ = writeln!(o, "<p class=\"hash\">{}</p>", e(&self.chain_text()));
        if let Some(sent) = &self.sent {
            let _ = writeln!(
                o,
                "<p class=\"meta\">{}: {}</p>",
                self.lang.pick("Gửi lên tỉnh", "Province"),
                e(sent)
            );
        }
        let _ = writeln!(
            o,
            "<div class=\"sign\"><div class=\"recipients\"><b><i>{}</i></b><br>{}<br>{}<br><br><b>{}</b><br><i>{}</i></div><div><b>{}</b><br><i>{}</i></div></div>",
            e(self.l("Nơi nhận:", "Recipients:")),
            e(self.l("- UBND tỉnh (để báo cáo);", "- Provincial People's Committee (for report);")),
            e(self.l("- Lưu: VT.", "- Archive.")),
            e(self.l("NGƯỜI LẬP BÁO CÁO", "PREPARED BY")),
            e(self.l("(Ký, ghi rõ họ tên)", "(signature, name)")),
            e(self.l("CHỦ TỊCH UBND XÃ", "COMMUNE CHAIRMAN")),
            e(self.l("(Ký, đóng dấu)", "(signature, seal)"))
        );
        let _ = writeln!(o, "</body></html>");
        o
    }

    /// An Excel workbook: a summary sheet and one sheet per table.
    pub fn to_xlsx(&self) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        use rust_xlsxwriter::{Format, Workbook};
        let mut wb = Workbook::new();
        let bold = Format::new().set_bold();
        let percent = Format::new().set_num_format("0.0");
        {
            let ws = wb.add_worksheet().set_name(self.l("Tổng hợp", "Summary"))?;
            ws.write_string_with_format(0, 0, self.title(), &bold)?;
            let rows = [
                (self.l("Đài", "Station"), self.station.clone()),
                (
                    self.l("Kỳ báo cáo", "Period"),
                    format!(
                        "{} – {}",
                        self.from.format("%d/%m/%Y"),
                        self.to.format("%d/%m/%Y")
                    ),
                ),
                (self.l("Múi giờ", "Time zone"), self.timezone.clone()),
                (
                    self.l("Lập lúc", "Generated"),
                    self.generated_at
                        .with_timezone(&self.tz)
                        .format("%Y-%m-%d %H:%M:%S")
                        .to_string(),
                ),
                (self.l("Mã băm cuối", "Chain head"), self.chain.head.clone()),
            ];
            for (i, (k, v)) in rows.iter().enumerate() {
                ws.write_string_with_format(i as u32 + 2, 0, *k, &bold)?;
                ws.write_string(i as u32 + 2, 1, v)?;
            }
            // Figures a spreadsheet sums and charts are numbers, shown in a number format.
            let score = Format::new().set_num_format("0.000");
            let count = Format::new().set_num_format("0");
            let figures = [
                (
                    self.l("Số sự kiện nhật ký", "Journal events"),
                    Some(self.chain.events as f64),
                    &count,
                ),
                (
                    self.l("Tỷ lệ hoàn thành (%)", "Completion (%)"),
                    self.completion_percent,
                    &percent,
                ),
                (
                    self.l("Điểm tiêu chí", "Criterion score"),
                    self.index_score,
                    &score,
                ),
            ];
            let first = rows.len() as u32 + 2;
            for (i, (k, v, format)) in figures.iter().enumerate() {
                let row = first + i as u32;
                ws.write_string_with_format(row, 0, *k, &bold)?;
                if let Some(v) = v {
                    ws.write_number_with_format(row, 1, *v, format)?;
                }
            }
            let rows = rows.len() + figures.len();
            ws.write_string(rows as u32 + 3, 0, self.score_text())?;
            ws.set_column_width(0, 28)?;
            ws.set_column_width(1, 70)?;
        }
        for (name, pick) in [
            (self.l("Theo chủ đề", "By topic"), 0),
            (self.l("Theo phiên", "By slot"), 1),
        ] {
            let ws = wb.add_worksheet().set_name(name)?;
            let mut header = vec![
                self.l("Kế hoạch", "Plan"),
                self.l("Mục", "Item"),
                self.l("Tên", "Title"),
            ];
            header.extend(self.count_headers());
            for (c, h) in header.iter().enumerate() {
                ws.write_string_with_format(0, c as u16, *h, &bold)?;
            }
            let mut row = 1u32;
            for p in &self.plans {
                let rows = if pick == 0 { &p.topics } else { &p.slots };
                for r in rows
                    .iter()
                    .map(|r| (r.key.as_str(), r.title.as_str(), &r.counts))
                    .chain(std::iter::once((
                        self.l("Cộng", "Total"),
                        p.title.as_str(),
                        &p.totals,
                    )))
                {
                    ws.write_string(row, 0, &p.id)?;
                    ws.write_string(row, 1, r.0)?;
                    ws.write_string(row, 2, r.1)?;
                    let c = r.2;
                    for (i, n) in [
                        c.planned,
                        c.completed,
                        c.partial,
                        c.failed,
                        c.missed,
                        c.interrupted,
                        c.unfinished,
                    ]
                    .iter()
                    .enumerate()
                    {
                        ws.write_number(row, 3 + i as u16, *n as f64)?;
                    }
                    if let Some(p) = c.completion_percent() {
                        ws.write_number_with_format(row, 10, p, &percent)?;
                    }
                    ws.write_number(row, 11, c.minutes_aired)?;
                    if self.has_relays() {
                        ws.write_number(row, 12, c.relays as f64)?;
                        ws.write_number(row, 13, c.relay_minutes)?;
                    }
                    row += 1;
                }
            }
            ws.set_column_width(2, 50)?;
        }
        {
            let ws = wb
                .add_worksheet()
                .set_name(self.l("Không phát đủ", "Not in full"))?;
            for (c, h) in [
                self.l("Giờ theo lịch", "Scheduled"),
                self.l("Kế hoạch", "Plan"),
                self.l("Phiên", "Slot"),
                self.l("Tên", "Title"),
                self.l("Kết quả", "Outcome"),
                self.l("Lý do", "Reason"),
            ]
            .iter()
            .enumerate()
            {
                ws.write_string_with_format(0, c as u16, *h, &bold)?;
            }
            for (i, s) in self.shortfalls.iter().enumerate() {
                for (c, v) in [
                    &s.scheduled,
                    &s.plan,
                    &s.slot,
                    &s.title,
                    &s.outcome,
                    &s.reason,
                ]
                .iter()
                .enumerate()
                {
                    ws.write_string(i as u32 + 1, c as u16, *v)?;
                }
            }
            ws.set_column_width(5, 60)?;
        }
        {
            let ws = wb
                .add_worksheet()
                .set_name(self.l("Bài đã phát", "Clips"))?;
            for (c, h) in [
                self.l("Tệp", "File"),
                self.l("Chủ đề", "Topic"),
                self.l("Số lần phát đủ", "Times aired"),
                self.l("Phút", "Minutes"),
                "SHA-256",
                self.l("Lần phát câm", "Dead air"),
            ]
            .iter()
            .enumerate()
            {
                ws.write_string_with_format(0, c as u16, *h, &bold)?;
            }
            for (i, c) in self.clips.iter().enumerate() {
                let r = i as u32 + 1;
                ws.write_string(r, 0, &c.clip)?;
                ws.write_string(r, 1, &c.topic)?;
                ws.write_number(r, 2, c.times_aired as f64)?;
                ws.write_number(r, 3, c.minutes)?;
                ws.write_string(r, 4, &c.sha256_prefix)?;
                ws.write_number(r, 5, c.dead_air as f64)?;
            }
            ws.set_column_width(0, 45)?;
        }
        wb.save_to_buffer()
    }
}

/// A report in every format reports are printed in, so the station's and the province's
/// are rendered by one piece of code.
pub trait Formats {
    fn to_text(&self) -> String;
    fn to_csv(&self) -> String;
    fn to_json(&self) -> String;
    fn to_html(&self) -> String;
    fn to_xlsx(&self) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError>;
}

impl Formats for Report {
    fn to_text(&self) -> String {
        Report::to_text(self)
    }
    fn to_csv(&self) -> String {
        Report::to_csv(self)
    }
    fn to_json(&self) -> String {
        Report::to_json(self)
    }
    fn to_html(&self) -> String {
        Report::to_html(self)
    }
    fn to_xlsx(&self) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        Report::to_xlsx(self)
    }
}

/// The start of a printed report: the page and its style, then the administrative
/// document layout of Nghị định 30/2020/NĐ-CP (issuing body and number, national name and
/// motto, place and date, document type), so it can be signed as is.
pub fn nd30_head(o: &mut String, lang: Lang, issuer: &str, title: &str) {
    let e = html_escape;
    let _ = write!(
        o,
        r#"<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8">
<title>{title}</title>
<style>
@page {{ size: A4; margin: 20mm 15mm 20mm 30mm; }}
body {{ font-family: "Times New Roman", "Liberation Serif", "DejaVu Serif", serif; font-size: 13pt; color: #000; margin: 0 auto; max-width: 165mm; }}
.nd30 {{ display: flex; justify-content: space-between; text-align: center; font-size: 12pt; }}
.nd30 .body {{ width: 40%; }}
.nd30 .nation {{ width: 58%; }}
.motto {{ text-decoration: underline; }}
.dateline {{ font-style: italic; margin-top: 2mm; }}
.doctype {{ text-align: center; font-weight: bold; font-size: 14pt; margin: 6mm 0 0; }}
.recipients {{ font-size: 11pt; text-align: left !important; }}
h1 {{ font-size: 14pt; text-align: center; margin: 4mm 0 1mm; }}
h2 {{ font-size: 12pt; margin: 5mm 0 2mm; }}
h3 {{ font-size: 11pt; margin: 3mm 0 1mm; }}
.center {{ text-align: center; }}
.meta {{ font-size: 10pt; }}
table {{ border-collapse: collapse; width: 100%; margin-bottom: 3mm; page-break-inside: auto; }}
th, td {{ border: 1px solid #444; padding: 1mm 1.5mm; font-size: 9.5pt; vertical-align: top; }}
th {{ background: #eee; }}
td.n {{ text-align: right; white-space: nowrap; }}
tr.total td {{ font-weight: bold; }}
.score {{ border: 2px solid #000; padding: 2mm 3mm; font-weight: bold; margin: 4mm 0; }}
.warn {{ color: #a00; font-weight: bold; }}
.hash {{ font-family: "DejaVu Sans Mono", monospace; font-size: 8pt; word-break: break-all; }}
.sign {{ display: flex; justify-content: space-between; margin-top: 10mm; }}
.sign div {{ width: 45%; text-align: center; }}
</style></head><body>
"#,
        lang = lang.code(),
        title = e(title)
    );
    // The administrative document layout of Nghị định 30/2020/NĐ-CP, so the printed
    // report can be signed as is: issuing body and number on the left, national name,
    // motto and the place-and-date line on the right, the document type centred.
    let _ = writeln!(
        o,
        "<div class=\"nd30\"><div class=\"body\"><b>{}</b><br>{}</div><div class=\"nation\"><b>{}</b><br><b class=\"motto\">{}</b><div class=\"dateline\">{}</div></div></div>",
        e(&issuer.to_uppercase()),
        e(lang.pick("Số: …/BC-…", "No.: …/BC-…")),
        e(lang.pick("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "SOCIALIST REPUBLIC OF VIETNAM")),
        e(lang.pick("Độc lập - Tự do - Hạnh phúc", "Independence - Freedom - Happiness")),
        e(lang.pick("……, ngày … tháng … năm ……", "……, date ……")),
    );
    let _ = writeln!(
        o,
        "<p class=\"doctype\">{}</p>",
        e(lang.pick("BÁO CÁO", "REPORT"))
    );
}
