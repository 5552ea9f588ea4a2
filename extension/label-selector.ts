import type { LabelSelectorModel } from './backend-index';

/** metav1.LabelSelector semantics: every matchLabels entry and every expression must hold. */
export function matchesSelector(
  selector: LabelSelectorModel | undefined,
  labels: Record<string, string>,
): boolean {
  if (!selector) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const expr of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, expr.key);
    const value = labels[expr.key];
    const inValues = has && (expr.values ?? []).includes(value ?? '');
    if (expr.operator === 'In' && !inValues) return false;
    if (expr.operator === 'NotIn' && inValues) return false;
    if (expr.operator === 'Exists' && !has) return false;
    if (expr.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}
