/**
 * Changing a shared setting where it is defined — the anchored node — so every alias follows;
 * the file's comments and layout are kept.
 */
import {isScalar, parseDocument, visit} from 'yaml'

/** The file's text with the anchored scalar set to `value`, or undefined when no such anchor. */
export function setAnchoredValue(text: string, anchor: string, value: string): string | undefined {
  const doc = parseDocument(text)
  let found = false
  visit(doc, {
    Scalar(_, node) {
      if (node.anchor === anchor && isScalar(node)) {
        node.value = value
        found = true
        return visit.BREAK
      }
      return undefined
    },
  })
  return found ? doc.toString() : undefined
}
