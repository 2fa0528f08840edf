//! `odoo365`: the headless command-line interface of Odoo365 Sync. It parses arguments,
//! calls `odoo365-app` and prints; all behaviour lives in the app crate.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use odoo365_app::auth::Secret;
use odoo365_app::{
    default_data_dir, App, AppError, ErrorCode, KeepSide, KeyExpiry, Profile, ProfileDraft,
    Resolution, SignIn, SystemBrowser,
};

#[derive(Debug, Parser)]
#[command(
    name = "odoo365",
    version,
    about = "Two-way sync of Odoo and Microsoft 365",
    after_help = "Exit codes: 0 ok, 1 error, 2 invalid input, 3 not found, 4 sign-in needed, \
                  5 conflicts pending, 6 guard tripped (confirm with --yes), 7 network, \
                  8 Odoo API key refused, 9 the profile is syncing elsewhere"
)]
struct Cli {
    /// Where the sync database lives [default: the XDG data dir]
    #[arg(long, global = true, env = "ODOO365_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The profile to act on (needed only when there are several)
    #[arg(long, short = 'p', global = true, env = "ODOO365_PROFILE")]
    profile: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct Json {
    /// Print JSON instead of text
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Add, list, show, check, re-key or remove profiles (a Microsoft account paired with an Odoo)
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Sign in to Microsoft (in the browser, or with a code on another device)
    Login {
        /// Show a code to enter on another device instead of opening a browser
        #[arg(long)]
        device_code: bool,
    },
    /// Sign the profile out of Microsoft: its subscriptions, refresh token and webhook
    /// secret are removed; links and history stay, so signing in to the same mailbox resumes
    Signout {
        /// The profile (default: --profile, or the only one)
        profile: Option<String>,
        #[command(flatten)]
        json: Json,
    },
    /// What the profile is doing: last and next sync, pending work, conflicts, sign-in
    Status(Json),
    /// List, show and resolve conflicts
    #[command(subcommand)]
    Conflicts(ConflictsCommand),
    /// Sync now: once, as a dry run, or confirming a paused plan
    Sync {
        /// One cycle, then exit (the default; `odoo365 daemon` keeps syncing)
        #[arg(long)]
        once: bool,
        /// Show what would change; write nothing
        #[arg(long, conflicts_with = "yes")]
        dry_run: bool,
        /// Go ahead with a plan a guard paused (first sync, mass change, attendee mails)
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        json: Json,
    },
    /// Keep syncing at an interval (Retry-After respected) until interrupted; changes made
    /// with `profile set` (webhook URL, polling interval) apply without a restart
    Daemon {
        /// Seconds between cycles [default: the profile's polling interval]
        #[arg(long, value_parser = clap::value_parser!(u64).range(10..))]
        interval: Option<u64>,
        /// Loopback address of the webhook listener the profile's public webhook URL
        /// forwards to (default: a port chosen once for this install)
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
    },
    /// Forget the pairs and cursors (not settings, secrets or history); the next sync pairs
    /// events again without duplicating them
    ResetSyncState {
        /// Do it without asking
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        json: Json,
    },
    /// Put back a version sync overwrote or deleted (without ENTRY: list the journal)
    Restore {
        /// The journal entry to restore
        entry: Option<i64>,
        #[command(flatten)]
        json: Json,
    },
    /// Retry a change that gave up (the ids are in `status`); the next sync runs it
    Retry {
        /// The job id `status` lists under failed changes
        job: i64,
        #[command(flatten)]
        json: Json,
    },
    /// The SharePoint document libraries you can reach (for `profile set NAME drive=ID`)
    Drives {
        /// Also search the sites whose name matches (besides the sites you follow)
        #[arg(long)]
        search: Option<String>,
        #[command(flatten)]
        json: Json,
    },
    /// What sync did and why (the audit log)
    Activity {
        /// Only the story of one item: link:N, odoo:N, graph:ID, or a word of its title
        #[arg(long, value_name = "ITEM")]
        why: Option<String>,
        #[command(flatten)]
        json: Json,
    },
}

#[derive(Debug, Subcommand)]
enum ProfileCommand {
    /// Add a profile; the Odoo API key is asked for (or read from stdin) and kept in the
    /// system keychain only
    Add {
        /// A short name for the profile
        name: String,
        /// Azure AD tenant: id, domain, `organizations` or `common`
        #[arg(long, default_value = "organizations")]
        tenant: String,
        /// Application (client) id of the Azure AD app registration
        #[arg(long)]
        client_id: String,
        /// Odoo URL, e.g. https://mycompany.odoo.com
        #[arg(long)]
        odoo_url: String,
        /// Odoo database name
        #[arg(long)]
        odoo_db: String,
        /// Odoo login (usually an e-mail address)
        #[arg(long)]
        odoo_login: String,
        /// Microsoft Graph base URL (a national cloud, or the emulator)
        #[arg(long)]
        graph_url: Option<String>,
        /// Microsoft identity platform base URL (a national cloud, or the emulator)
        #[arg(long)]
        identity_url: Option<String>,
        /// Read the Odoo API key from the first line of stdin instead of a prompt
        #[arg(long)]
        api_key_stdin: bool,
        /// Save without testing the Odoo connection first
        #[arg(long)]
        no_check: bool,
        /// A sync setting, KEY=VALUE (repeat; see `profile set --help` for the keys)
        #[arg(long = "set", value_name = "KEY=VALUE")]
        settings: Vec<String>,
        #[command(flatten)]
        json: Json,
    },
    /// List profiles
    List(Json),
    /// Show one profile
    Show {
        profile: String,
        #[command(flatten)]
        json: Json,
    },
    /// Test a profile's Odoo connection: names the Odoo version and the user
    Check {
        profile: String,
        #[command(flatten)]
        json: Json,
    },
    /// Replace a profile's Odoo API key (asked for, or read from stdin)
    SetKey {
        profile: String,
        #[arg(long)]
        api_key_stdin: bool,
    },
    /// Change a profile's sync settings; the next cycle runs with them. Keys: calendar,
    /// documents (true/false), document-models (a,b,c), direction (both, odoo-to-microsoft,
    /// microsoft-to-odoo), window-past-days, window-future-days, poll-interval-minutes,
    /// webhook-url (or none), policy (ask, odoo-wins, microsoft-wins, newest-wins),
    /// guard-max-changes, guard-max-percent, guard-max-mails, drive (me or a drive id),
    /// root-folder, odoo-delete-policy (delete, keep)
    Set {
        profile: String,
        /// KEY=VALUE, one or more
        #[arg(required = true, value_name = "KEY=VALUE")]
        settings: Vec<String>,
        #[command(flatten)]
        json: Json,
    },
    /// Remove a profile, its sync state and its keychain entries
    Remove { profile: String },
}

#[derive(Debug, Subcommand)]
enum ConflictsCommand {
    /// The open conflicts
    List(Json),
    /// One conflict, both sides and the base
    Show {
        /// The conflict's number, from `conflicts list`
        id: i64,
        #[command(flatten)]
        json: Json,
    },
    /// Resolve a conflict: keep one side, or choose per field; the next sync applies it
    Resolve {
        /// The conflict's number, from `conflicts list`
        id: i64,
        /// Keep this side's whole version: odoo or microsoft (for a file also: both)
        #[arg(long, value_name = "SIDE", conflicts_with = "field")]
        keep: Option<String>,
        /// Per field: NAME=odoo or NAME=microsoft (repeat for each field in conflict)
        #[arg(long, value_name = "NAME=SIDE")]
        field: Vec<String>,
        #[command(flatten)]
        json: Json,
    },
}

/// `println!` that does not panic when stdout is gone (`odoo365 activity | head`).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// Exit codes, distinct per outcome so scripts can branch.
fn exit_code(code: ErrorCode) -> u8 {
    match code {
        ErrorCode::InvalidInput => 2,
        ErrorCode::NotFound => 3,
        ErrorCode::SignInNeeded => 4,
        ErrorCode::ConflictsPending => 5,
        ErrorCode::GuardTripped => 6,
        ErrorCode::Network => 7,
        ErrorCode::OdooKeyRefused => 8,
        ErrorCode::Busy => 9,
        ErrorCode::Storage | ErrorCode::Keychain | ErrorCode::Internal => 1,
    }
}

fn invalid(message: impl Into<String>) -> AppError {
    AppError::new(ErrorCode::InvalidInput, message)
}

fn print_profile(p: &Profile) {
    say!("{}  ({})", p.name, p.id);
    say!("  Microsoft: tenant {}, client {}", p.tenant, p.client_id);
    say!(
        "  Odoo:      {} database {} as {}",
        p.odoo_url,
        p.odoo_database,
        p.odoo_login
    );
    say!("  Graph:     {}", p.graph_url);
    say!("  Sign-in:   {}", p.identity_url);
    let s = &p.settings;
    let mut syncs = Vec::new();
    if s.calendar {
        syncs.push(format!(
            "calendar ({} days back, {} ahead)",
            s.window_past_days, s.window_future_days
        ));
    }
    if s.documents {
        syncs.push(format!(
            "documents of {} in {:?}",
            s.document_models.join(", "),
            s.root_folder
        ));
    }
    say!("  Syncs:     {}", syncs.join("; "));
    say!(
        "  Mode:      {}, conflicts: {}",
        match &s.webhook_url {
            Some(url) => format!(
                "webhook via {url} (polling every {} min as fallback)",
                s.poll_interval_minutes
            ),
            None => format!("polling every {} min", s.poll_interval_minutes),
        },
        serde_json::to_value(s.policy)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    );
}

/// Applies `KEY=VALUE` settings in order; the result is validated as a whole.
fn apply_settings(
    mut settings: odoo365_app::SyncSettings,
    pairs: &[String],
) -> Result<odoo365_app::SyncSettings, AppError> {
    for pair in pairs {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| invalid(format!("{pair:?}: write a setting as KEY=VALUE")))?;
        settings.set(key.trim(), value)?;
    }
    settings.validate()
}

fn json<T: serde::Serialize>(value: &T) -> Result<(), AppError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))?;
    say!("{text}");
    Ok(())
}

/// The Odoo API key: from the first line of stdin, or from a prompt that does not echo.
fn read_api_key(from_stdin: bool) -> Result<Secret, AppError> {
    let key = if from_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| invalid(format!("cannot read the API key from stdin: {e}")))?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        rpassword::prompt_password("Odoo API key (Preferences → Account Security): ")
            .map_err(|e| invalid(format!("cannot read the API key: {e}")))?
    };
    Ok(Secret::new(key))
}

fn runtime() -> Result<tokio::runtime::Runtime, AppError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| AppError::new(ErrorCode::Internal, format!("cannot start: {e}")))
}

fn parse_field_choices(fields: &[String]) -> Result<BTreeMap<String, KeepSide>, AppError> {
    fields
        .iter()
        .map(|f| {
            let (name, side) = f.split_once('=').ok_or_else(|| {
                invalid(format!("--field {f:?}: write NAME=odoo or NAME=microsoft"))
            })?;
            Ok((name.trim().to_string(), side.parse()?))
        })
        .collect()
}

fn run(cli: Cli) -> Result<(), AppError> {
    let app = App::open(&cli.data_dir.clone().unwrap_or_else(default_data_dir))?;
    let chosen = cli.profile.as_deref();
    match cli.command {
        Command::Profile(ProfileCommand::Add {
            name,
            tenant,
            client_id,
            odoo_url,
            odoo_db,
            odoo_login,
            graph_url,
            identity_url,
            api_key_stdin,
            no_check,
            settings,
            json: Json { json: as_json },
        }) => {
            let settings = apply_settings(Default::default(), &settings)?;
            let draft = ProfileDraft {
                name,
                tenant,
                client_id,
                odoo_url,
                odoo_database: odoo_db,
                odoo_login,
                graph_url,
                identity_url,
            };
            // Bad input is refused before the key is asked for.
            draft.clone().validate()?;
            if app.profile(draft.name.trim()).is_ok() {
                return Err(invalid(format!(
                    "a profile named {:?} already exists",
                    draft.name.trim()
                )));
            }
            let key = read_api_key(api_key_stdin)?;
            let check = if no_check {
                None
            } else {
                let check = runtime()?.block_on(App::check_odoo_draft(draft.clone(), &key))?;
                Some(check)
            };
            let p = app.add_profile_with_settings(draft, &key, settings)?;
            if as_json {
                json(&serde_json::json!({"profile": p, "odoo": check}))?;
            } else {
                if let Some(c) = &check {
                    say!("{}.", c.summary());
                }
                say!(
                    "Added profile {}; the API key is in the system keychain. Next: `odoo365 login`.",
                    p.name
                );
            }
        }
        Command::Profile(ProfileCommand::List(Json { json: as_json })) => {
            let all = app.profiles()?;
            if as_json {
                json(&all)?;
            } else if all.is_empty() {
                say!("No profiles yet. Add one with `odoo365 profile add`.");
            } else {
                all.iter().for_each(print_profile);
            }
        }
        Command::Profile(ProfileCommand::Show {
            profile,
            json: Json { json: as_json },
        }) => {
            let p = app.profile(&profile)?;
            if as_json {
                json(&p)?;
            } else {
                print_profile(&p);
            }
        }
        Command::Profile(ProfileCommand::Check {
            profile,
            json: Json { json: as_json },
        }) => {
            let check = runtime()?.block_on(app.check_odoo(&profile))?;
            if as_json {
                json(&check)?;
            } else {
                say!("{}.", check.summary());
            }
        }
        Command::Profile(ProfileCommand::SetKey {
            profile,
            api_key_stdin,
        }) => {
            let p = app.profile(&profile)?;
            let key = read_api_key(api_key_stdin)?;
            app.set_odoo_api_key(&p.id, &key)?;
            say!(
                "Saved the new Odoo API key of {} in the system keychain.",
                p.name
            );
        }
        Command::Profile(ProfileCommand::Set {
            profile,
            settings,
            json: Json { json: as_json },
        }) => {
            let p = app.profile(&profile)?;
            let settings = apply_settings(p.settings.clone(), &settings)?;
            let p = app.set_sync_settings(&p.id, settings)?;
            if as_json {
                json(&p)?;
            } else {
                say!("Saved the settings of {}; the next sync uses them.", p.name);
                print_profile(&p);
            }
        }
        Command::Profile(ProfileCommand::Remove { profile }) => {
            // Subscriptions first, while the sign-in to delete them is still there; one left
            // behind expires by itself within days, so a failure does not stop the removal.
            if let Err(e) = runtime()?.block_on(app.delete_webhook_subscriptions(&profile)) {
                eprintln!("odoo365: the webhook subscriptions were not deleted ({e}); they expire by themselves");
            }
            let p = app.remove_profile(&profile)?;
            say!(
                "Removed profile {}, its sync state and its keychain entries.",
                p.name
            );
        }
        Command::Login { device_code } => {
            let p = app.resolve_profile(chosen)?;
            let how = if device_code {
                SignIn::DeviceCode(Box::new(|prompt: &odoo365_app::DeviceCodePrompt| {
                    match &prompt.message {
                        Some(m) => say!("{m}"),
                        None => say!(
                            "To sign in, open {} and enter the code {}",
                            prompt.verification_uri,
                            prompt.user_code
                        ),
                    }
                    let _ = std::io::stdout().flush();
                }))
            } else {
                eprintln!(
                    "Opening your browser to sign in to Microsoft (no browser here? use \
                     `odoo365 login --device-code`)…"
                );
                SignIn::Browser(&SystemBrowser)
            };
            let done = runtime()?.block_on(app.login(&p.id, how))?;
            say!("Signed in; profile {} can sync now.", done.profile);
        }
        Command::Signout {
            profile,
            json: Json { json: as_json },
        } => {
            let p = app.resolve_profile(profile.as_deref().or(chosen))?;
            let done = runtime()?.block_on(app.sign_out(&p.id))?;
            if as_json {
                json(&done)?;
            } else {
                say!(
                    "Signed {} out of Microsoft; {} linked item(s) kept.",
                    done.profile,
                    done.links_kept
                );
                match &done.mailbox {
                    Some(m) => say!("Sign in as {m} with `odoo365 login` to resume syncing."),
                    None => say!("Sign in with `odoo365 login` to sync again."),
                }
            }
        }
        Command::Status(Json { json: as_json }) => {
            let p = app.resolve_profile(chosen)?;
            let s = app.status(&p.id)?;
            if as_json {
                json(&s)?;
            } else {
                let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
                    t.map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
                        .unwrap_or_else(|| "never".into())
                };
                say!("Profile {}", s.profile);
                say!(
                    "  Last sync:  {}{}",
                    time(s.last_sync_at),
                    s.last_outcome
                        .as_ref()
                        .map(|o| format!(" ({o})"))
                        .unwrap_or_default()
                );
                if let Some(n) = s.next_sync_at {
                    say!("  Next sync:  {}", n.format("%Y-%m-%d %H:%M:%SZ"));
                }
                say!(
                    "  Linked events: {}, pending changes: {}, failed: {}, open conflicts: {}",
                    s.linked_events,
                    s.pending_jobs,
                    s.failed_jobs.len(),
                    s.open_conflicts
                );
                say!(
                    "  Mode:       {}{}",
                    s.mode,
                    s.mode_reason
                        .as_ref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                );
                if p.settings.documents || s.linked_files > 0 || s.pending_transfers > 0 {
                    say!(
                        "  Linked files: {}, pending transfers: {}, file errors: {}",
                        s.linked_files,
                        s.pending_transfers,
                        s.file_errors
                    );
                }
                if let Some(k) = &s.odoo_key_expiry {
                    let line = match k {
                        KeyExpiry::Never => "never expires".to_string(),
                        KeyExpiry::At { at } => format!("expires {}", time(Some(*at))),
                        KeyExpiry::EarliestOf { at, keys } => {
                            format!("the first of {keys} keys expires {}", time(Some(*at)))
                        }
                        KeyExpiry::Unknown { why } => format!("expiry unknown ({why})"),
                    };
                    say!("  Odoo key:   {line}");
                }
                if let Some(e) = &s.last_error {
                    say!("  Last error: {}", e.message);
                }
                for line in s.attention() {
                    say!("  ! {line}");
                }
            }
        }
        Command::Conflicts(ConflictsCommand::List(Json { json: as_json })) => {
            let p = app.resolve_profile(chosen)?;
            let all = app.conflicts(&p.id)?;
            if as_json {
                json(&all)?;
            } else if all.is_empty() {
                say!("No open conflicts.");
            } else {
                for c in &all {
                    say!(
                        "{}  {}  {}  fields: {}",
                        c.id,
                        c.kind,
                        c.title.as_deref().unwrap_or("(untitled)"),
                        if c.fields.is_empty() {
                            "-".into()
                        } else {
                            c.fields.join(", ")
                        }
                    );
                }
            }
        }
        Command::Conflicts(ConflictsCommand::Show {
            id,
            json: Json { json: as_json },
        }) => {
            let p = app.resolve_profile(chosen)?;
            let c = app.conflict(&p.id, id)?;
            if as_json {
                json(&c)?;
            } else {
                print_conflict(&c);
            }
        }
        Command::Conflicts(ConflictsCommand::Resolve {
            id,
            keep,
            field,
            json: Json { json: as_json },
        }) => {
            let p = app.resolve_profile(chosen)?;
            let resolution = match (keep, field.is_empty()) {
                (Some(side), _) if side.eq_ignore_ascii_case("both") => Resolution::KeepBoth,
                (Some(side), _) => Resolution::Keep(side.parse()?),
                (None, false) => Resolution::Fields(parse_field_choices(&field)?),
                (None, true) => {
                    return Err(invalid(
                        "say which side wins: --keep odoo|microsoft, or --field NAME=odoo|microsoft for each field",
                    ))
                }
            };
            let c = app.resolve_conflict(&p.id, id, &resolution)?;
            if as_json {
                json(&c)?;
            } else {
                say!("Conflict {id} resolved; the next sync applies it.");
            }
        }
        Command::Sync {
            once: _,
            dry_run,
            yes,
            json: Json { json: as_json },
        } => {
            let p = app.resolve_profile(chosen)?;
            let r = runtime()?.block_on(app.sync(&p.id, dry_run, yes))?;
            if as_json {
                json(&r)?;
            } else {
                say!("{}: {}", r.profile, r.summary);
                for (item, mail) in &r.report.mails {
                    say!("  mail: {item}: {mail:?}");
                }
                for f in r.report.failed.iter().chain(&r.report.item_errors) {
                    say!("  ! {}: {}", f.item, f.message);
                }
                if let Some(files) = &r.files {
                    if dry_run || odoo365_app::files::is_paused(files) {
                        for planned in &files.planned {
                            say!("  file: {}", odoo365_app::files::describe(planned));
                        }
                    }
                    for n in &files.notices {
                        say!("  note: {n}");
                    }
                    for u in &files.unplaced {
                        say!("  left alone (its folder matches no record you can read): {u}");
                    }
                    for f in &files.failed {
                        say!("  ! {}: {}", f.item, f.message);
                    }
                }
            }
            if let Some(e) = r.needs_person() {
                return Err(e);
            }
        }
        Command::Daemon { interval, listen } => {
            let p = app.resolve_profile(chosen)?;
            let rt = runtime()?;
            match interval {
                Some(s) => eprintln!("Syncing {} every {s} s; stop with Ctrl-C.", p.name),
                None => eprintln!(
                    "Syncing {} every {} min (its polling interval); stop with Ctrl-C.",
                    p.name, p.settings.poll_interval_minutes
                ),
            }
            rt.block_on(app.daemon_with_webhooks(
                &p.id,
                interval.map(std::time::Duration::from_secs),
                listen,
                async {
                    let _ = tokio::signal::ctrl_c().await;
                },
                |addr, mode| {
                    let listening = addr
                        .map(|a| format!("; the webhook listener is on {a}"))
                        .unwrap_or_default();
                    match &mode.reason {
                        None => eprintln!(
                            "Webhooks on: Microsoft notifies {} through the public URL{listening}.",
                            p.name
                        ),
                        Some(why) => {
                            eprintln!("Mode: {} ({why}){listening}.", mode.mode.as_str())
                        }
                    }
                },
                |r| match r {
                    Ok(r) => say!("{}: {}", r.profile, r.summary),
                    Err(e) => eprintln!("odoo365: {e}"),
                },
            ))?;
        }
        Command::ResetSyncState {
            yes,
            json: Json { json: as_json },
        } => {
            let p = app.resolve_profile(chosen)?;
            if !yes {
                if !std::io::stdin().is_terminal() {
                    return Err(invalid(
                        "reset-sync-state forgets every pair of events; add --yes to confirm",
                    ));
                }
                eprint!(
                    "Forget every pair of events of {} (settings, secrets and history stay)? [y/N] ",
                    p.name
                );
                let mut answer = String::new();
                let _ = std::io::stdin().lock().read_line(&mut answer);
                if !answer.trim().eq_ignore_ascii_case("y") {
                    say!("Nothing was changed.");
                    return Ok(());
                }
            }
            let r = app.reset_sync_state(&p.id)?;
            if as_json {
                json(&r)?;
            } else {
                say!(
                    "Forgot {} pair(s), closed {} queued change(s) and {} conflict(s). The next \
                     sync pairs the events again (no duplicates) and shows its plan first.",
                    r.links_forgotten,
                    r.jobs_cancelled,
                    r.conflicts_closed
                );
            }
        }
        Command::Restore {
            entry: None,
            json: Json { json: as_json },
        } => {
            let p = app.resolve_profile(chosen)?;
            let lines = app.journal(&p.id, 100)?;
            if as_json {
                json(&lines)?;
            } else if lines.is_empty() {
                say!("Sync has not overwritten or deleted anything yet.");
            } else {
                for l in &lines {
                    say!(
                        "{}  {}  {} on {}  {}{}",
                        l.entry,
                        l.at.format("%Y-%m-%d %H:%M:%SZ"),
                        l.reason,
                        l.side,
                        l.title.as_deref().unwrap_or("(untitled)"),
                        if l.restored { "  (restored)" } else { "" }
                    );
                }
            }
        }
        Command::Restore {
            entry: Some(entry),
            json: Json { json: as_json },
        } => {
            let p = app.resolve_profile(chosen)?;
            let r = runtime()?.block_on(app.restore(&p.id, entry))?;
            if as_json {
                json(&r)?;
            } else {
                say!(
                    "Restored {:?} on {}; the next sync carries it to the other side.",
                    r.title,
                    r.side
                );
                if let Some(note) = &r.note {
                    say!("Note: {note}.");
                }
            }
        }
        Command::Retry {
            job,
            json: Json { json: as_json },
        } => {
            let p = app.resolve_profile(chosen)?;
            app.retry_job(&p.id, job)?;
            if as_json {
                json(&serde_json::json!({"job": job, "queued": true}))?;
            } else {
                say!("Change {job} will run again at the next sync (`odoo365 sync` runs one now).");
            }
        }
        Command::Drives {
            search,
            json: Json { json: as_json },
        } => {
            let p = app.resolve_profile(chosen)?;
            let libs = runtime()?.block_on(app.libraries(&p.id, search.as_deref()))?;
            if as_json {
                json(&libs)?;
            } else if libs.is_empty() {
                say!("No SharePoint library found (follow a site, or try --search NAME); documents go to your OneDrive.");
            } else {
                for l in &libs {
                    say!("{}  {} / {}", l.drive_id, l.site, l.name);
                }
                say!("Pick one with `odoo365 profile set {} drive=ID`.", p.name);
            }
        }
        Command::Activity {
            why,
            json: Json { json: as_json },
        } => {
            let p = app.resolve_profile(chosen)?;
            let a = app.activity(&p.id, why.as_deref())?;
            if as_json {
                json(&a)?;
            } else if a.lines.is_empty() {
                say!("Nothing happened yet.");
            } else {
                for l in &a.lines {
                    say!("{}", l.line());
                }
            }
        }
    }
    Ok(())
}

fn print_conflict(c: &odoo365_app::ConflictView) {
    say!(
        "Conflict {} ({}){}",
        c.id,
        c.kind,
        if c.open { "" } else { ", resolved" }
    );
    if let Some(t) = &c.title {
        say!("  Event: {t}");
    }
    let value = |side: &Option<serde_json::Value>, f: &str| {
        side.as_ref()
            .and_then(|v| v.get(f))
            .map(|v| v.to_string())
            .unwrap_or_else(|| "-".into())
    };
    if c.fields.is_empty() {
        say!(
            "  Odoo:      {}",
            c.odoo.as_ref().map(|_| "edited").unwrap_or("deleted")
        );
        say!(
            "  Microsoft: {}",
            c.microsoft.as_ref().map(|_| "edited").unwrap_or("deleted")
        );
        say!(
            "  Resolve with: odoo365 conflicts resolve {} --keep odoo|microsoft",
            c.id
        );
    } else {
        for f in &c.fields {
            say!("  {f}:");
            say!("    base:      {}", value(&c.base, f));
            say!("    odoo:      {}", value(&c.odoo, f));
            say!("    microsoft: {}", value(&c.microsoft, f));
        }
        say!(
            "  Resolve with: odoo365 conflicts resolve {} --keep odoo|microsoft, or --field NAME=odoo|microsoft per field",
            c.id
        );
    }
}

fn main() -> ExitCode {
    odoo365_app::logging::init_stderr();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("odoo365: {e}");
            ExitCode::from(exit_code(e.code))
        }
    }
}
