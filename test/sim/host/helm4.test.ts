import {describe} from 'vitest'

import {helmSuite} from './helm-suite.js'

describe('helm 4 stand-in', () => helmSuite(4))
