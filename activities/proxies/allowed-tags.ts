/**
 * The admin allow-list of tags (chart value proxies.allowedTags): what a namespace may request when no
 * TailscaleProxyClass limits it, and what any VIP service may carry. Empty: no limit.
 */
export function tagsOutside(allowList: readonly string[], tags: readonly string[]): string[] {
  if (!allowList.length) return [];
  return tags.filter((t) => !allowList.includes(t));
}

export function allowListMessage(
  field: string,
  denied: readonly string[],
  allowList: readonly string[],
): string {
  return `${field}: ${denied.join(', ')} not in the admin allow-list of tags (proxies.allowedTags: ${allowList.join(', ')}); ask a cluster admin, or request only listed tags`;
}
