//! `odoo365`: the headless command-line interface of Odoo365 Sync. It parses arguments,
//! calls `odoo365-app` and prints; all behaviour lives in the app crate.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use odoo365_app::{default_data_dir, App, AppError, ErrorCode, Profile, ProfileDraft};

#[derive(Debug, Parser)]
#[command(
    name = "odoo365",
    version,
    about = "Two-way sync of Odoo and Microsoft 365"
)]
struct Cli {
    /// Where the sync database and logs live [default: the XDG data dir]
    #[arg(long, global = true, env = "ODOO365_DATA_DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Add, list, show or remove profiles (a Microsoft account paired with an Odoo)
    #[command(subcommand)]
    Profile(ProfileCommand),
}

#[derive(Debug, Subcommand)]
enum ProfileCommand {
    /// Add a profile
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
        /// Microsoft identity platform base URL
        #[arg(long)]
        identity_url: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List profiles
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one profile
    Show {
        profile: String,
        #[arg(long)]
        json: bool,
    },
    /// Remove a profile and its sync state
    Remove { profile: String },
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
        ErrorCode::Storage | ErrorCode::Keychain | ErrorCode::Internal => 1,
    }
}

fn print_profile(p: &Profile) {
    println!("{}  ({})", p.name, p.id);
    println!("  Microsoft: tenant {}, client {}", p.tenant, p.client_id);
    println!(
        "  Odoo:      {} database {} as {}",
        p.odoo_url, p.odoo_database, p.odoo_login
    );
    println!("  Graph:     {}", p.graph_url);
}

fn json<T: serde::Serialize>(value: &T) -> Result<(), AppError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))?;
    println!("{text}");
    Ok(())
}

fn run(cli: Cli) -> Result<(), AppError> {
    let app = App::open(&cli.data_dir.unwrap_or_else(default_data_dir))?;
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
            json: as_json,
        }) => {
            let p = app.add_profile(ProfileDraft {
                name,
                tenant,
                client_id,
                odoo_url,
                odoo_database: odoo_db,
                odoo_login,
                graph_url,
                identity_url,
            })?;
            if as_json {
                json(&p)?;
            } else {
                println!("Added profile {}.", p.name);
            }
        }
        Command::Profile(ProfileCommand::List { json: as_json }) => {
            let all = app.profiles()?;
            if as_json {
                json(&all)?;
            } else if all.is_empty() {
                println!("No profiles yet. Add one with `odoo365 profile add`.");
            } else {
                all.iter().for_each(print_profile);
            }
        }
        Command::Profile(ProfileCommand::Show {
            profile,
            json: as_json,
        }) => {
            let p = app.profile(&profile)?;
            if as_json {
                json(&p)?;
            } else {
                print_profile(&p);
            }
        }
        Command::Profile(ProfileCommand::Remove { profile }) => {
            let p = app.remove_profile(&profile)?;
            println!("Removed profile {}.", p.name);
        }
    }
    Ok(())
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
