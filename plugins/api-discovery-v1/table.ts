/**
 * `kubectl get endpointslices` columns, after upstream's printEndpointSlice: NAME ADDRESSTYPE
 * PORTS ENDPOINTS AGE, where PORTS and ENDPOINTS show three values and then "+ N more...", and
 * "<unset>" when there are none.
 */
import { ageOf, type KubeObject, type TableDefinition } from 'skiff/sdk/api';

type Obj = Record<string, unknown>;
const objList = (v: unknown): Obj[] =>
  Array.isArray(v) ? v.filter((x): x is Obj => typeof x === 'object' && x !== null) : [];

const SHOWN = 3;

/** Upstream's listWithMoreString. */
function listWithMore(values: string[]): string {
  if (values.length > SHOWN) return `${values.slice(0, SHOWN).join(',')} + ${values.length - SHOWN} more...`;
  return values.length ? values.join(',') : '<unset>';
}

/** A port shows its number, else its name, else "*". */
function portText(port: Obj): string {
  if (typeof port.port === 'number') return String(port.port);
  if (typeof port.name === 'string') return port.name;
  return '*';
}

export function formatPorts(slice: KubeObject): string {
  return listWithMore(objList(slice.ports).map(portText));
}

export function formatEndpoints(slice: KubeObject): string {
  return listWithMore(objList(slice.endpoints).flatMap((ep) => (Array.isArray(ep.addresses) ? ep.addresses : [])));
}

export const endpointSliceTable: TableDefinition = {
  columns: [
    { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.' },
    { name: 'AddressType', type: 'string', description: 'The type of address held by this EndpointSlice.' },
    { name: 'Ports', type: 'string', description: 'The ports exposed by this EndpointSlice.' },
    { name: 'Endpoints', type: 'string', description: 'The addresses of the endpoints in this EndpointSlice.' },
    { name: 'Age', type: 'string', description: 'Time since the object was created.' },
  ],
  row: (o, now) => [
    o.metadata.name,
    String(o.addressType ?? ''),
    formatPorts(o),
    formatEndpoints(o),
    ageOf(o.metadata, now),
  ],
};
