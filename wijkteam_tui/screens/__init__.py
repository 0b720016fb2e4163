"""The app's screens, one module each (intake, meldingen list, detail, settings, help, dialogs)."""
