/** admission-always-admit: upstream's AlwaysAdmit, which admits everything. See README.md. */
import { definePlugin } from 'skiff/sdk';

export default definePlugin({
  name: 'admission-always-admit',
  description: "Admits every request (upstream's AlwaysAdmit, deprecated there): a no-op link in the chain.",
  admissionName: 'AlwaysAdmit',
  // Its place in upstream's AllOrderedPlugins: --enable-admission-plugins runs plugins in that order.
  admissionOrder: 0,
  setup(ctx) {
    ctx.provide.admission({ name: 'AlwaysAdmit', validate: () => undefined });
  },
});
