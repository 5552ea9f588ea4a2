/** The VIP service an object publishes when its spec names none: `svc:` and the object's name. */
export const defaultVipServiceName = (objectName: string): string => `svc:${objectName}`;

/** The DNS label of a VIP service name (`svc:web` -> `web`). */
export const vipServiceLabel = (serviceName: string): string => serviceName.replace(/^svc:/, '');
