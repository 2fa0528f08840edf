//! The model registry: which models exist, their fields and default order, per version.
//!
//! Field lists follow spec §2.1 (calendar), §4.1 (attachments), §5.2 (users); business models
//! carry only what documents hang off (name, partner, company, user).

use std::collections::HashMap;

use super::version::VersionProfile;

pub type Options = &'static [(&'static str, &'static str)];

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Char,
    Text,
    Html,
    Integer,
    Float,
    Boolean,
    Date,
    Datetime,
    Selection(Options),
    Many2one(&'static str),
    /// Comodel and its inverse many2one.
    One2many(&'static str, &'static str),
    Many2many(&'static str),
    Binary,
    /// `Many2oneReference`: an integer whose model is named by another field.
    Reference,
}

impl Kind {
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Char => "char",
            Kind::Text => "text",
            Kind::Html => "html",
            Kind::Integer => "integer",
            Kind::Float => "float",
            Kind::Boolean => "boolean",
            Kind::Date => "date",
            Kind::Datetime => "datetime",
            Kind::Selection(_) => "selection",
            Kind::Many2one(_) => "many2one",
            Kind::One2many(..) => "one2many",
            Kind::Many2many(_) => "many2many",
            Kind::Binary => "binary",
            Kind::Reference => "many2one_reference",
        }
    }

    pub fn comodel(&self) -> Option<&'static str> {
        match self {
            Kind::Many2one(m) | Kind::One2many(m, _) | Kind::Many2many(m) => Some(m),
            _ => None,
        }
    }

    pub fn is_x2many(&self) -> bool {
        matches!(self, Kind::One2many(..) | Kind::Many2many(_))
    }
}

#[derive(Debug, Clone)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub string: &'static str,
    pub required: bool,
    pub readonly: bool,
    /// Stored in the row; a non-stored field is computed on read.
    pub store: bool,
}

#[derive(Debug, Clone)]
pub struct Model {
    pub name: &'static str,
    pub description: &'static str,
    /// `_order`.
    pub order: &'static str,
    /// `_rec_name`.
    pub rec_name: &'static str,
    pub fields: Vec<Field>,
    index: HashMap<&'static str, usize>,
    /// Inherits `mail.thread` (chatter, `message_post`).
    pub mail_thread: bool,
}

impl Model {
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.index.get(name).map(|&i| &self.fields[i])
    }

    pub fn has(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    pub fn has_active(&self) -> bool {
        self.has("active")
    }

    pub fn has_company(&self) -> bool {
        matches!(self.field("company_id"), Some(f) if f.kind == Kind::Many2one("res.company"))
    }
}

/// Every model of one version profile.
#[derive(Debug, Clone)]
pub struct Registry {
    pub models: HashMap<&'static str, Model>,
}

impl Registry {
    pub fn get(&self, name: &str) -> Option<&Model> {
        self.models.get(name)
    }
}

struct ModelBuilder {
    model: Model,
}

fn f(name: &'static str, kind: Kind, string: &'static str) -> Field {
    Field {
        name,
        kind,
        string,
        required: false,
        readonly: false,
        store: true,
    }
}

impl ModelBuilder {
    fn new(name: &'static str, description: &'static str, order: &'static str) -> Self {
        let mut b = Self {
            model: Model {
                name,
                description,
                order,
                rec_name: "name",
                fields: Vec::new(),
                index: HashMap::new(),
                mail_thread: false,
            },
        };
        let mut id = f("id", Kind::Integer, "ID");
        id.readonly = true;
        b.push(id);
        let mut dn = f("display_name", Kind::Char, "Display Name");
        dn.readonly = true;
        dn.store = false;
        b.push(dn);
        for (n, k, s) in [
            ("create_date", Kind::Datetime, "Created on"),
            ("write_date", Kind::Datetime, "Last Updated on"),
            ("create_uid", Kind::Many2one("res.users"), "Created by"),
            ("write_uid", Kind::Many2one("res.users"), "Last Updated by"),
        ] {
            let mut fl = f(n, k, s);
            fl.readonly = true;
            b.push(fl);
        }
        b
    }

    fn push(&mut self, field: Field) {
        self.model.index.insert(field.name, self.model.fields.len());
        self.model.fields.push(field);
    }

    fn field(mut self, name: &'static str, kind: Kind, string: &'static str) -> Self {
        self.push(f(name, kind, string));
        self
    }

    fn required(mut self, name: &'static str, kind: Kind, string: &'static str) -> Self {
        let mut fl = f(name, kind, string);
        fl.required = true;
        self.push(fl);
        self
    }

    fn readonly(mut self, name: &'static str, kind: Kind, string: &'static str) -> Self {
        let mut fl = f(name, kind, string);
        fl.readonly = true;
        self.push(fl);
        self
    }

    fn computed(mut self, name: &'static str, kind: Kind, string: &'static str) -> Self {
        let mut fl = f(name, kind, string);
        fl.store = false;
        fl.readonly = true;
        self.push(fl);
        self
    }

    /// A non-stored field that a write may still carry (pseudo-related recurrence fields).
    fn virtual_writable(mut self, name: &'static str, kind: Kind, string: &'static str) -> Self {
        let mut fl = f(name, kind, string);
        fl.store = false;
        self.push(fl);
        self
    }

    fn rec_name(mut self, name: &'static str) -> Self {
        self.model.rec_name = name;
        self
    }

    fn mail_thread(mut self) -> Self {
        self.model.mail_thread = true;
        self.computed(
            "message_ids",
            Kind::One2many("mail.message", "res_id"),
            "Messages",
        )
    }

    fn build(self) -> Model {
        self.model
    }
}

pub const PRIVACY: Options = &[
    ("public", "Public"),
    ("private", "Private"),
    ("confidential", "Only internal users"),
];
pub const SHOW_AS: Options = &[("free", "Available"), ("busy", "Busy")];
pub const ATTENDEE_STATE: Options = &[
    ("accepted", "Accepted"),
    ("declined", "Declined"),
    ("tentative", "Uncertain"),
    ("needsAction", "Needs Action"),
];
pub const RECURRENCE_UPDATE: Options = &[
    ("self_only", "This event"),
    ("future_events", "This and following events"),
    ("all_events", "All events"),
];
pub const RRULE_TYPE: Options = &[
    ("daily", "Days"),
    ("weekly", "Weeks"),
    ("monthly", "Months"),
    ("yearly", "Years"),
];
pub const END_TYPE: Options = &[
    ("count", "Number of repetitions"),
    ("end_date", "End date"),
    ("forever", "Forever"),
];
pub const MONTH_BY: Options = &[("date", "Date of month"), ("day", "Day of month")];
pub const WEEKDAY: Options = &[
    ("MON", "Monday"),
    ("TUE", "Tuesday"),
    ("WED", "Wednesday"),
    ("THU", "Thursday"),
    ("FRI", "Friday"),
    ("SAT", "Saturday"),
    ("SUN", "Sunday"),
];
pub const BYDAY: Options = &[
    ("1", "First"),
    ("2", "Second"),
    ("3", "Third"),
    ("4", "Fourth"),
    ("-1", "Last"),
];
pub const WEEKDAY_FIELDS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// The recurrence fields an event shows (pseudo-related to its `calendar.recurrence`).
pub const RECURRENCE_FIELDS: [&str; 19] = [
    "rrule",
    "rrule_type",
    "event_tz",
    "end_type",
    "interval",
    "count",
    "mon",
    "tue",
    "wed",
    "thu",
    "fri",
    "sat",
    "sun",
    "month_by",
    "day",
    "weekday",
    "byday",
    "until",
    "dtstart",
];

fn recurrence_rule_fields(mut b: ModelBuilder, on_event: bool) -> ModelBuilder {
    let add = |b: ModelBuilder, name, kind, string| {
        if on_event {
            b.virtual_writable(name, kind, string)
        } else {
            b.field(name, kind, string)
        }
    };
    b = add(b, "rrule", Kind::Char, "Recurrent Rule");
    b = add(b, "rrule_type", Kind::Selection(RRULE_TYPE), "Recurrence");
    b = add(b, "event_tz", Kind::Char, "Timezone");
    b = add(
        b,
        "end_type",
        Kind::Selection(END_TYPE),
        "Recurrence Termination",
    );
    b = add(b, "interval", Kind::Integer, "Repeat Every");
    b = add(b, "count", Kind::Integer, "Repeat");
    for (name, string) in [
        ("mon", "Mon"),
        ("tue", "Tue"),
        ("wed", "Wed"),
        ("thu", "Thu"),
        ("fri", "Fri"),
        ("sat", "Sat"),
        ("sun", "Sun"),
    ] {
        b = add(b, name, Kind::Boolean, string);
    }
    b = add(b, "month_by", Kind::Selection(MONTH_BY), "Option");
    b = add(b, "day", Kind::Integer, "Date of month");
    b = add(b, "weekday", Kind::Selection(WEEKDAY), "Weekday");
    b = add(b, "byday", Kind::Selection(BYDAY), "By day");
    b = add(b, "until", Kind::Date, "Repeat Until");
    if on_event {
        b
    } else {
        b.computed("dtstart", Kind::Datetime, "Start")
    }
}

/// The registry a server of `version` exposes.
pub fn registry(version: &VersionProfile) -> Registry {
    let mut models = Vec::new();

    models.push(
        ModelBuilder::new("res.company", "Companies", "name, id")
            .required("name", Kind::Char, "Company Name")
            .field("partner_id", Kind::Many2one("res.partner"), "Partner")
            .field("email", Kind::Char, "Email")
            .field("parent_id", Kind::Many2one("res.company"), "Parent Company")
            .computed(
                "child_ids",
                Kind::One2many("res.company", "parent_id"),
                "Branches",
            )
            .field("active", Kind::Boolean, "Active")
            .build(),
    );
    models.push(
        ModelBuilder::new("res.partner", "Contact", "name, id desc")
            .field("name", Kind::Char, "Name")
            .field("email", Kind::Char, "Email")
            .field("phone", Kind::Char, "Phone")
            .field("company_id", Kind::Many2one("res.company"), "Company")
            .field(
                "parent_id",
                Kind::Many2one("res.partner"),
                "Related Company",
            )
            .computed(
                "child_ids",
                Kind::One2many("res.partner", "parent_id"),
                "Contact",
            )
            .field("is_company", Kind::Boolean, "Is a Company")
            .field("tz", Kind::Char, "Timezone")
            .field("lang", Kind::Char, "Language")
            .computed(
                "user_ids",
                Kind::One2many("res.users", "partner_id"),
                "Users",
            )
            .field("active", Kind::Boolean, "Active")
            .mail_thread()
            .build(),
    );
    let mut users = ModelBuilder::new("res.users", "User", "name, login")
        .required("login", Kind::Char, "Login")
        .field("name", Kind::Char, "Name")
        .field("email", Kind::Char, "Email")
        .field("tz", Kind::Char, "Timezone")
        .field("lang", Kind::Char, "Language")
        .required(
            "partner_id",
            Kind::Many2one("res.partner"),
            "Related Partner",
        )
        .required("company_id", Kind::Many2one("res.company"), "Company")
        .field("company_ids", Kind::Many2many("res.company"), "Companies")
        .readonly("share", Kind::Boolean, "Share User")
        .field("active", Kind::Boolean, "Active")
        .field(
            version.groups_field(),
            Kind::Many2many("res.groups"),
            "Groups",
        );
    if version.privacy_may_be_empty() {
        users = users.field(
            "calendar_default_privacy",
            Kind::Selection(PRIVACY),
            "Calendar Default Privacy",
        );
    }
    models.push(users.build());
    // The keys themselves live in `Db::keys` (their secret part is never a field); the
    // table holds a mirror of their public fields (apikeys.rs) so a user can read their own
    // keys' expiry. Every field is readonly in Odoo; `expiration_date` exists from 18.0.
    let mut keys = ModelBuilder::new("res.users.apikeys", "Users API Keys", "id")
        .readonly("name", Kind::Char, "Description")
        .readonly("user_id", Kind::Many2one("res.users"), "User")
        .readonly("scope", Kind::Char, "Scope");
    if version.has_key_expiry() {
        keys = keys.readonly("expiration_date", Kind::Datetime, "Expiration Date");
    }
    models.push(keys.build());
    models.push(
        ModelBuilder::new("res.groups", "Access Groups", "name, id")
            .required("name", Kind::Char, "Name")
            .build(),
    );
    models.push(
        ModelBuilder::new("ir.model", "Models", "model")
            .required("name", Kind::Char, "Model Description")
            .required("model", Kind::Char, "Model")
            .build(),
    );

    // The Discuss channel model was `mail.channel` in 16.
    let channel_model = if version.has_body_is_html() {
        "discuss.channel"
    } else {
        "mail.channel"
    };
    models.push(
        ModelBuilder::new(channel_model, "Discussion Channel", "name, id")
            .required("name", Kind::Char, "Name")
            .build(),
    );
    models.push(
        ModelBuilder::new("mail.activity.type", "Activity Type", "id")
            .required("name", Kind::Char, "Name")
            .field(
                "category",
                Kind::Selection(&[
                    ("default", "None"),
                    ("upload_file", "Upload Document"),
                    ("phonecall", "Phonecall"),
                    ("meeting", "Meeting"),
                ]),
                "Action",
            )
            .build(),
    );
    models.push(
        ModelBuilder::new("mail.activity", "Activity", "date_deadline, id")
            .rec_name("summary")
            .field("res_model", Kind::Char, "Related Document Model")
            .field("res_id", Kind::Reference, "Related Document ID")
            .field(
                "activity_type_id",
                Kind::Many2one("mail.activity.type"),
                "Activity Type",
            )
            .field("summary", Kind::Char, "Summary")
            .field("note", Kind::Html, "Note")
            .field("date_deadline", Kind::Date, "Due Date")
            .field("user_id", Kind::Many2one("res.users"), "Assigned to")
            .field(
                "calendar_event_id",
                Kind::Many2one("calendar.event"),
                "Calendar Meeting",
            )
            .build(),
    );

    let privacy = Field {
        name: "privacy",
        kind: Kind::Selection(PRIVACY),
        string: "Privacy",
        required: !version.privacy_may_be_empty(),
        readonly: false,
        store: true,
    };
    let mut event = ModelBuilder::new("calendar.event", "Calendar Event", "start desc")
        .required("name", Kind::Char, "Meeting Subject")
        .field("description", Kind::Html, "Description")
        .field("user_id", Kind::Many2one("res.users"), "Organizer")
        .readonly("partner_id", Kind::Many2one("res.partner"), "Scheduled by")
        .field("location", Kind::Char, "Location")
        .field("videocall_location", Kind::Char, "Meeting URL")
        .computed(
            "videocall_source",
            Kind::Selection(&[("discuss", "Discuss"), ("custom", "Custom")]),
            "Videocall Source",
        )
        .field(
            "videocall_channel_id",
            Kind::Many2one(channel_model),
            "Discuss Channel",
        )
        .field("access_token", Kind::Char, "Invitation Token")
        .required("show_as", Kind::Selection(SHOW_AS), "Show as")
        .field("active", Kind::Boolean, "Active")
        .field("categ_ids", Kind::Many2many("calendar.event.type"), "Tags")
        .required("start", Kind::Datetime, "Start")
        .required("stop", Kind::Datetime, "Stop")
        .field("allday", Kind::Boolean, "All Day")
        .field("start_date", Kind::Date, "Start Date")
        .field("stop_date", Kind::Date, "End Date")
        .field("duration", Kind::Float, "Duration")
        .computed("display_time", Kind::Char, "Event Time")
        .field("res_model_id", Kind::Many2one("ir.model"), "Document Model")
        .field("res_model", Kind::Char, "Document Model Name")
        .field("res_id", Kind::Reference, "Document ID")
        .field("opportunity_id", Kind::Many2one("crm.lead"), "Opportunity")
        .computed(
            "activity_ids",
            Kind::One2many("mail.activity", "calendar_event_id"),
            "Activities",
        )
        .field("partner_ids", Kind::Many2many("res.partner"), "Attendees")
        .computed(
            "attendee_ids",
            Kind::One2many("calendar.attendee", "event_id"),
            "Participant",
        )
        .computed("attendees_count", Kind::Integer, "Participant Count")
        .computed("accepted_count", Kind::Integer, "Accepted Count")
        .computed("declined_count", Kind::Integer, "Declined Count")
        .computed("tentative_count", Kind::Integer, "Tentative Count")
        .computed("awaiting_count", Kind::Integer, "Awaiting Count")
        .computed(
            "current_attendee",
            Kind::Many2one("calendar.attendee"),
            "Current Attendee",
        )
        .computed(
            "current_status",
            Kind::Selection(ATTENDEE_STATE),
            "Attending?",
        )
        .field("alarm_ids", Kind::Many2many("calendar.alarm"), "Alarms")
        .field("recurrency", Kind::Boolean, "Recurrent")
        .field(
            "recurrence_id",
            Kind::Many2one("calendar.recurrence"),
            "Recurrence Rule",
        )
        .field("follow_recurrence", Kind::Boolean, "Follow Recurrence")
        .computed(
            "rrule_type_ui",
            Kind::Selection(&[
                ("daily", "Daily"),
                ("weekly", "Weekly"),
                ("monthly", "Monthly"),
                ("yearly", "Yearly"),
                ("custom", "Custom"),
            ]),
            "Repeat",
        )
        .virtual_writable(
            "recurrence_update",
            Kind::Selection(RECURRENCE_UPDATE),
            "Recurrence Update",
        );
    event.push(privacy);
    let event = recurrence_rule_fields(event, true).mail_thread().build();
    models.push(event);
    models.push(
        ModelBuilder::new("calendar.attendee", "Calendar Attendee Information", "id")
            .rec_name("common_name")
            .required(
                "event_id",
                Kind::Many2one("calendar.event"),
                "Meeting linked",
            )
            .required("partner_id", Kind::Many2one("res.partner"), "Attendee")
            .readonly("email", Kind::Char, "Email")
            .readonly("phone", Kind::Char, "Phone")
            .field("common_name", Kind::Char, "Common name")
            .field("access_token", Kind::Char, "Invitation Token")
            .field("state", Kind::Selection(ATTENDEE_STATE), "Status")
            .field("availability", Kind::Selection(SHOW_AS), "Available")
            .build(),
    );
    let rec = ModelBuilder::new("calendar.recurrence", "Event Recurrence Rule", "id")
        .readonly("name", Kind::Char, "Name")
        .field(
            "base_event_id",
            Kind::Many2one("calendar.event"),
            "Base Event",
        )
        .computed(
            "calendar_event_ids",
            Kind::One2many("calendar.event", "recurrence_id"),
            "Events",
        );
    models.push(recurrence_rule_fields(rec, false).build());
    models.push(
        ModelBuilder::new("calendar.event.type", "Event Meeting Type", "name, id")
            .required("name", Kind::Char, "Name")
            .build(),
    );
    models.push(
        ModelBuilder::new("calendar.alarm", "Event Alarm", "interval, duration, id")
            .required("name", Kind::Char, "Name")
            .field(
                "alarm_type",
                Kind::Selection(&[("notification", "Notification"), ("email", "Email")]),
                "Type",
            )
            .field("duration", Kind::Integer, "Remind Before")
            .field(
                "interval",
                Kind::Selection(&[("minutes", "Minutes"), ("hours", "Hours"), ("days", "Days")]),
                "Unit",
            )
            .computed("duration_minutes", Kind::Integer, "Duration in minutes")
            .build(),
    );
    models.push(
        ModelBuilder::new("ir.attachment", "Attachment", "id desc")
            .required("name", Kind::Char, "Name")
            .field("description", Kind::Text, "Description")
            .field("res_model", Kind::Char, "Resource Model")
            .field("res_field", Kind::Char, "Resource Field")
            .field("res_id", Kind::Reference, "Resource ID")
            .computed("res_name", Kind::Char, "Resource Name")
            .field("company_id", Kind::Many2one("res.company"), "Company")
            .field(
                "type",
                Kind::Selection(&[("url", "URL"), ("binary", "File")]),
                "Type",
            )
            .field("url", Kind::Char, "Url")
            .field("public", Kind::Boolean, "Is public document")
            .field("access_token", Kind::Char, "Access Token")
            .virtual_writable("raw", Kind::Binary, "File Content (raw)")
            .field("datas", Kind::Binary, "File Content (base64)")
            .readonly("store_fname", Kind::Char, "Stored Filename")
            .readonly("file_size", Kind::Integer, "File Size")
            .readonly("checksum", Kind::Char, "Checksum/SHA1")
            .field("mimetype", Kind::Char, "Mime Type")
            .readonly("index_content", Kind::Text, "Indexed Content")
            .build(),
    );
    models.push(
        ModelBuilder::new("mail.message", "Message", "id desc")
            .rec_name("record_name")
            .field("model", Kind::Char, "Related Document Model")
            .field("res_id", Kind::Reference, "Related Document ID")
            .field("record_name", Kind::Char, "Message Record Name")
            .field("body", Kind::Html, "Contents")
            .field("subject", Kind::Char, "Subject")
            .field(
                "message_type",
                Kind::Selection(&[
                    ("email", "Incoming Email"),
                    ("comment", "Comment"),
                    ("email_outgoing", "Outgoing Email"),
                    ("notification", "System notification"),
                    ("auto_comment", "Automated Targeted Notification"),
                    ("user_notification", "User Specific Notification"),
                ]),
                "Type",
            )
            .field(
                "subtype_id",
                Kind::Many2one("mail.message.subtype"),
                "Subtype",
            )
            .field("author_id", Kind::Many2one("res.partner"), "Author")
            .field("partner_ids", Kind::Many2many("res.partner"), "Recipients")
            .field(
                "attachment_ids",
                Kind::Many2many("ir.attachment"),
                "Attachments",
            )
            .field("date", Kind::Datetime, "Date")
            .computed(
                "tracking_value_ids",
                Kind::One2many("mail.tracking.value", "mail_message_id"),
                "Tracking values",
            )
            .build(),
    );
    models.push(
        ModelBuilder::new("ir.model.fields", "Fields", "model, name")
            .rec_name("field_description")
            .required("name", Kind::Char, "Field Name")
            .required("model", Kind::Char, "Model Name")
            .field("field_description", Kind::Char, "Field Label")
            .field("ttype", Kind::Char, "Field Type")
            .build(),
    );
    models.push(
        ModelBuilder::new("mail.tracking.value", "Mail Tracking Value", "id")
            .rec_name("id")
            .field("field_id", Kind::Many2one("ir.model.fields"), "Field")
            .field("old_value_char", Kind::Char, "Old Value Char")
            .field("new_value_char", Kind::Char, "New Value Char")
            .field("old_value_integer", Kind::Integer, "Old Value Integer")
            .field("new_value_integer", Kind::Integer, "New Value Integer")
            .field("old_value_datetime", Kind::Datetime, "Old Value DateTime")
            .field("new_value_datetime", Kind::Datetime, "New Value DateTime")
            .field(
                "mail_message_id",
                Kind::Many2one("mail.message"),
                "Message ID",
            )
            .build(),
    );
    models.push(
        ModelBuilder::new("mail.message.subtype", "Message subtypes", "id")
            .required("name", Kind::Char, "Message Type")
            .field("description", Kind::Text, "Description")
            .field("internal", Kind::Boolean, "Internal Only")
            .build(),
    );
    models.push(
        ModelBuilder::new("sale.order", "Sales Order", "date_order desc, id desc")
            .field("name", Kind::Char, "Order Reference")
            .required("partner_id", Kind::Many2one("res.partner"), "Customer")
            .field("company_id", Kind::Many2one("res.company"), "Company")
            .field("user_id", Kind::Many2one("res.users"), "Salesperson")
            .field("date_order", Kind::Datetime, "Order Date")
            .field(
                "state",
                Kind::Selection(&[
                    ("draft", "Quotation"),
                    ("sent", "Quotation Sent"),
                    ("sale", "Sales Order"),
                    ("cancel", "Cancelled"),
                ]),
                "Status",
            )
            .mail_thread()
            .build(),
    );
    models.push(
        ModelBuilder::new("account.move", "Journal Entry", "id desc")
            .field("name", Kind::Char, "Number")
            .field("partner_id", Kind::Many2one("res.partner"), "Partner")
            .field("company_id", Kind::Many2one("res.company"), "Company")
            .field(
                "invoice_user_id",
                Kind::Many2one("res.users"),
                "Salesperson",
            )
            .field(
                "move_type",
                Kind::Selection(&[
                    ("entry", "Journal Entry"),
                    ("out_invoice", "Customer Invoice"),
                    ("in_invoice", "Vendor Bill"),
                ]),
                "Type",
            )
            .field(
                "state",
                Kind::Selection(&[
                    ("draft", "Draft"),
                    ("posted", "Posted"),
                    ("cancel", "Cancelled"),
                ]),
                "Status",
            )
            .mail_thread()
            .build(),
    );
    models.push(
        ModelBuilder::new("project.task", "Task", "id desc")
            .required("name", Kind::Char, "Title")
            .field("partner_id", Kind::Many2one("res.partner"), "Customer")
            .field("company_id", Kind::Many2one("res.company"), "Company")
            .field("user_ids", Kind::Many2many("res.users"), "Assignees")
            .field("active", Kind::Boolean, "Active")
            .mail_thread()
            .build(),
    );
    models.push(
        ModelBuilder::new("crm.lead", "Lead/Opportunity", "id desc")
            .required("name", Kind::Char, "Opportunity")
            .field("partner_id", Kind::Many2one("res.partner"), "Customer")
            .field("company_id", Kind::Many2one("res.company"), "Company")
            .field("user_id", Kind::Many2one("res.users"), "Salesperson")
            .field(
                "type",
                Kind::Selection(&[("lead", "Lead"), ("opportunity", "Opportunity")]),
                "Type",
            )
            .field("active", Kind::Boolean, "Active")
            .mail_thread()
            .build(),
    );

    Registry {
        models: models.into_iter().map(|m| (m.name, m)).collect(),
    }
}
