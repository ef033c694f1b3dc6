"""What operators write, loaded and validated: settings, budgets files, rule files (and git revisions), dashboards."""
