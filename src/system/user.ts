/** The person running devctl, as the OS names them: $USER (or %USERNAME%), else the passwd entry. */
import {userInfo} from 'node:os'

export function osUserName(): string | undefined {
  const fromEnv = process.env.USER ?? process.env.USERNAME
  if (fromEnv) return fromEnv
  try {
    return userInfo().username
  } catch {
    // No passwd entry (some containers).
    return undefined
  }
}
