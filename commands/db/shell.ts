import {DataShellCommand} from '../../src/shell-command.js'

export default class DbShell extends DataShellCommand<typeof DbShell> {
  static override summary = "psql in the Postgres pod, signed in with devctl's credentials; arguments go to psql."
  static override description = `Runs psql where the database is: in the Postgres pod (through Kubernetes exec, with the credentials the pod was started with: no password on any command line), or, for services.postgres.external, this machine's psql against the configured host. Every argument goes to psql as it is, so \`devctl db shell -c 'select 1'\` works in scripts and ends with psql's exit code. In a terminal it is interactive (Ctrl-C cancels a query; \\q or Ctrl-D leaves); input that is not a terminal is psql's (\`devctl db shell < seed.sql\`).`

  static override examples = [
    '<%= config.bin %> db shell',
    "<%= config.bin %> db shell -c 'select count(*) from jobs'",
    '<%= config.bin %> db shell -At -c "select id from jobs"',
    '<%= config.bin %> db shell < seed.sql',
  ]

  protected readonly service = 'postgres'
}
