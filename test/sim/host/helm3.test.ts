import {describe} from 'vitest'

import {helmSuite} from './helm-suite.js'

describe('helm 3 stand-in', () => helmSuite(3))
