import { allowListMessage, tagsOutside } from '../../../activities/proxies/allowed-tags';

describe('the admin allow-list of tags', () => {
  it('limits nothing when empty', () => {
    expect(tagsOutside([], ['tag:any'])).toEqual([]);
  });

  it('names the tags outside the list, and the list', () => {
    const outside = tagsOutside(['tag:k8s', 'tag:web'], ['tag:k8s', 'tag:prod', 'tag:db']);
    expect(outside).toEqual(['tag:prod', 'tag:db']);
    expect(allowListMessage('spec.tags', outside, ['tag:k8s', 'tag:web'])).toMatch(
      /^spec\.tags: tag:prod, tag:db not in the admin allow-list of tags \(proxies\.allowedTags: tag:k8s, tag:web\)/,
    );
  });
});
