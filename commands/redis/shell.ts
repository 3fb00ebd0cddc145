import {DataShellCommand} from '../../src/shell-command.js'

export default class RedisShell extends DataShellCommand<typeof RedisShell> {
  static override summary = "redis-cli in the Redis pod, signed in with devctl's credentials; arguments go to redis-cli."
  static override description = `Runs redis-cli where Redis is: in the Redis pod (through Kubernetes exec; the pod's REDISCLI_AUTH signs it in), or, for services.redis.external, this machine's redis-cli against the configured host. Every argument goes to redis-cli as it is, so \`devctl redis shell dbsize\` works in scripts and ends with redis-cli's exit code.`

  static override examples = ['<%= config.bin %> redis shell', '<%= config.bin %> redis shell dbsize', '<%= config.bin %> redis shell --scan --pattern "queue:*"']

  protected readonly service = 'redis'
}
