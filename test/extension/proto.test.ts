import { join } from 'node:path';
import type * as protobuf from 'protobufjs';
import { protoRoot } from '../../extension/codec';
import { repoRoot } from '../../runtime/paths';
import { envoyRoot, loadEnvoyRoot } from './envoy-protos';

/** Every message type declared in `ns` and below, by full name. */
function messagesIn(ns: protobuf.NamespaceBase): protobuf.Type[] {
  return ns.nestedArray.flatMap((n) => {
    const nested = 'nestedArray' in n ? messagesIn(n as protobuf.NamespaceBase) : [];
    return 'fieldsArray' in n ? [n as protobuf.Type, ...nested] : nested;
  });
}

const enumsIn = (ns: protobuf.NamespaceBase): protobuf.Enum[] =>
  ns.nestedArray.flatMap((n) => [
    ...('values' in n && !('fieldsArray' in n) ? [n as protobuf.Enum] : []),
    ...('nestedArray' in n ? enumsIn(n as protobuf.NamespaceBase) : []),
  ]);

const fullName = (t: protobuf.ReflectionObject) => t.fullName.replace(/^\./, '');

describe('proto/: our copies agree with the real definitions field by field', () => {
  const ours = protoRoot();

  it('the wire copy of the extension API matches the typed one, Envoy messages declared as bytes', () => {
    const api = loadEnvoyRoot(['envoygateway/extension/service.proto'], [join(repoRoot(), 'proto', 'api')]);
    const apiMessages = messagesIn(api.lookup('envoygateway.extension') as protobuf.Namespace);
    expect(apiMessages.length).toBe(19); // 12 requests and responses, 6 contexts, ExtensionResource
    for (const apiType of apiMessages) {
      const wireType = ours.lookupType(fullName(apiType));
      expect(wireType.fieldsArray.map((f) => [f.name, f.id, f.repeated])).toEqual(
        apiType.fieldsArray.map((f) => [f.name, f.id, f.repeated]),
      );
      for (const field of apiType.fieldsArray) {
        const envoyTyped = fullName(field.resolvedType ?? field).startsWith('envoy.');
        expect([fullName(apiType), field.name, wireType.fields[field.name]!.type]).toEqual([
          fullName(apiType),
          field.name,
          envoyTyped ? 'bytes' : field.type,
        ]);
      }
    }
    const service = api.lookupService('envoygateway.extension.EnvoyGatewayExtension');
    expect(Object.keys(service.methods)).toEqual([
      'PostRouteModify',
      'PostVirtualHostModify',
      'PostHTTPListenerModify',
      'PostClusterModify',
      'PostEndpointsModify',
      'PostTranslateModify',
    ]);
  });

  it('every field of the Envoy subsets has Envoy’s number and type (bytes stands for a message we carry opaque)', () => {
    const envoy = envoyRoot();
    const subset = messagesIn(ours.lookup('envoy') as protobuf.Namespace);
    expect(subset.length).toBeGreaterThan(15);
    for (const type of subset) {
      const real = envoy.lookupType(fullName(type));
      for (const field of type.fieldsArray) {
        const realField = real.fields[field.name];
        expect([fullName(type), field.name, realField?.id]).toEqual([fullName(type), field.name, field.id]);
        const realType = realField!.resolvedType ? fullName(realField!.resolvedType) : realField!.type;
        const ourType = field.resolvedType ? fullName(field.resolvedType) : field.type;
        const opaque =
          ourType === 'bytes' && realField!.resolvedType !== null && 'fieldsArray' in realField!.resolvedType;
        expect([fullName(type), field.name, opaque ? realType : ourType, field.repeated]).toEqual([
          fullName(type),
          field.name,
          realType,
          realField!.repeated,
        ]);
      }
    }
    for (const e of enumsIn(ours.lookup('envoy') as protobuf.Namespace)) {
      const real = envoy.lookupEnum(fullName(e));
      for (const [name, value] of Object.entries(e.values))
        expect([fullName(e), name, real.values[name]]).toEqual([fullName(e), name, value]);
    }
  });
});
