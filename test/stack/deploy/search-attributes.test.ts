import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { registerSearchAttributes } from '../../../tools/register-search-attributes';
import { eventually } from '../../support/eventually';
import { stackInfo, uniqueName } from '../../support/stack';

const { IndexedValueType } = temporal.api.enums.v1;

describe("the chart's search attribute Job (tools/register-search-attributes.ts)", () => {
  let connection: Connection;

  beforeAll(async () => {
    connection = await Connection.connect({ address: stackInfo().temporalAddress });
  });
  afterAll(async () => connection?.close());

  const freshNamespace = async () => {
    const namespace = uniqueName('sa');
    await connection.workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: msToTs('1 day'),
    });
    await eventually('namespace registered', async () =>
      (await connection.operatorService.listSearchAttributes({ namespace })) ? true : undefined,
    );
    return namespace;
  };

  it('adds the four Keyword attributes once, then finds them present', async () => {
    const namespace = await freshNamespace();
    const first = await registerSearchAttributes(connection, namespace);
    expect([...first.added].sort()).toEqual([
      'K8sNamespace',
      'ResourceKind',
      'TailscaleTailnet',
      'VipServiceName',
    ]);
    const listed = await connection.operatorService.listSearchAttributes({ namespace });
    expect(listed.customAttributes?.VipServiceName).toBe(IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD);
    const second = await registerSearchAttributes(connection, namespace);
    expect(second).toEqual({ added: [], present: first.added });
  });

  it('refuses to paper over an attribute of another type', async () => {
    const namespace = await freshNamespace();
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: { TailscaleTailnet: IndexedValueType.INDEXED_VALUE_TYPE_TEXT },
    });
    await expect(registerSearchAttributes(connection, namespace)).rejects.toThrow(
      /TailscaleTailnet exists .* as INDEXED_VALUE_TYPE_TEXT, but the workflows set it as Keyword/,
    );
  });
});
