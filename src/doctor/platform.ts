/**
 * How to install what is missing, per platform. devctl only ever prints these: installing
 * software on someone's machine is theirs to decide.
 */
import {readFile} from 'node:fs/promises'

export type Platform = 'macos' | 'debian' | 'other'

export type InstallableTool = 'node' | 'docker' | 'k3d' | 'helm' | 'kubectl'

/** macOS, Debian/Ubuntu (and their derivatives, by /etc/os-release ID_LIKE), or anything else. */
export function platformOf(os: NodeJS.Platform, osRelease: string): Platform {
  if (os === 'darwin') return 'macos'
  if (os !== 'linux') return 'other'
  const ids = [...osRelease.matchAll(/^(?:ID|ID_LIKE)=["']?([^"'\n]*)/gm)].flatMap((m) => (m[1] ?? '').split(/\s+/))
  return ids.some((id) => id === 'debian' || id === 'ubuntu') ? 'debian' : 'other'
}

export async function detectPlatform(): Promise<Platform> {
  const osRelease = process.platform === 'linux' ? await readFile('/etc/os-release', 'utf8').catch(() => '') : ''
  return platformOf(process.platform, osRelease)
}

const INSTALL_HINTS: Record<InstallableTool, Record<Platform, string>> = {
  node: {
    macos: 'Install a current Node.js: `brew install node` (or nvm: `nvm install --lts`).',
    debian: "Debian/Ubuntu's own nodejs package is often too old: use nvm (`nvm install --lts`) or NodeSource (https://github.com/nodesource/distributions).",
    other: 'Install a current Node.js LTS: https://nodejs.org/en/download',
  },
  docker: {
    macos: 'Install Docker Desktop (`brew install --cask docker`) or colima (`brew install colima docker && colima start --memory 6`).',
    debian: "Install Docker Engine (`sudo apt-get install docker.io`, or Docker's packages: https://docs.docker.com/engine/install/), then `sudo usermod -aG docker $USER` and log in again.",
    other: 'Install Docker: https://docs.docker.com/get-started/get-docker/',
  },
  k3d: {
    macos: 'Install k3d: `brew install k3d`.',
    debian: 'Install k3d (there is no apt package): `curl -s https://raw.githubusercontent.com/k3d-io/k3d/main/install.sh | bash` (see https://k3d.io/#installation).',
    other: 'Install k3d: https://k3d.io/#installation',
  },
  helm: {
    macos: 'Install helm: `brew install helm`.',
    debian: "Install helm from helm's apt repository: https://helm.sh/docs/intro/install/#from-apt-debianubuntu",
    other: 'Install helm: https://helm.sh/docs/intro/install/',
  },
  kubectl: {
    macos: 'Install kubectl: `brew install kubectl`.',
    debian: "Install kubectl from Kubernetes' apt repository: https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/#install-using-native-package-management",
    other: 'Install kubectl: https://kubernetes.io/docs/tasks/tools/',
  },
}

export function installHint(tool: InstallableTool, platform: Platform): string {
  return INSTALL_HINTS[tool][platform]
}
