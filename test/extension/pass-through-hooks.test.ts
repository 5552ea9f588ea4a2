import { InvalidRequestError } from '../../extension/hook-context';
import { postEndpointsModify } from '../../extension/post-endpoints-modify';
import { postHTTPListenerModify } from '../../extension/post-http-listener-modify';
import { decodeEnvoy, encodeEnvoy } from './envoy-protos';
import { depsWith, egListener } from './fixtures';

describe('PostHTTPListenerModify', () => {
  it('returns the listener as the exact bytes EG sent, HCM fields newer than the protos included', () => {
    const listener = egListener();
    const res = postHTTPListenerModify({ listener }, depsWith());
    expect(res.listener).toBe(listener);
    // Sanity: the fixture is a real listener whose HCM carries field 58 (unknown to the 2024 protos).
    expect(decodeEnvoy('envoy.config.listener.v3.Listener', listener)).toMatchObject({
      name: 'default/eg/http',
    });
  });

  it('rejects an empty request', () => {
    expect(() => postHTTPListenerModify({}, depsWith())).toThrow(InvalidRequestError);
  });
});

describe('PostEndpointsModify', () => {
  it('returns the load assignment unchanged: our clusters get endpoints inline in PostClusterModify', () => {
    const la = encodeEnvoy('envoy.config.endpoint.v3.ClusterLoadAssignment', {
      clusterName: 'httproute/default/web/rule/0',
    });
    expect(postEndpointsModify({ loadAssignment: la }, depsWith()).loadAssignment).toBe(la);
  });
});
